// 16550A UART: registers, FIFO, interrupt priorities, loopback, input backpressure.
#include "serial_16550a.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "bus_access.hpp"

namespace kagami {
namespace {

using testing::bus_read;
using testing::inb;
using testing::outb;

constexpr uint64_t kThr = 0x3f8, kRbr = 0x3f8, kDll = 0x3f8, kIer = 0x3f9, kDlm = 0x3f9,
                   kIir = 0x3fa, kFcr = 0x3fa, kLcr = 0x3fb, kMcr = 0x3fc, kLsr = 0x3fd,
                   kMsr = 0x3fe, kScr = 0x3ff;

class Serial16550aTest : public ::testing::Test {
 protected:
  Serial16550aTest()
      : uart(
            [this](std::span<const uint8_t> bytes) { output.append(bytes.begin(), bytes.end()); }) {
    uart.attach(io);
    uart.set_rx_space_callback([this] { ++rx_space_calls; });
  }

  size_t receive(const std::string& text) {
    return uart.receive(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }
  std::string read_rbr(size_t count) {
    std::string text;
    for (size_t i = 0; i < count; ++i) text.push_back(static_cast<char>(inb(io, kRbr)));
    return text;
  }

  Bus io{"io"};
  std::string output;
  int rx_space_calls = 0;
  Serial16550a uart;
};

TEST_F(Serial16550aTest, ResetValues) {
  EXPECT_EQ(inb(io, kIer), 0x00);
  EXPECT_EQ(inb(io, kIir), 0x01);
  EXPECT_EQ(inb(io, kLcr), 0x00);
  EXPECT_EQ(inb(io, kMcr), 0x00);
  EXPECT_EQ(inb(io, kLsr), 0x60);
  EXPECT_EQ(inb(io, kMsr), 0xb0);
  EXPECT_EQ(inb(io, kScr), 0x00);
  EXPECT_FALSE(uart.interrupt_pending());
}

TEST_F(Serial16550aTest, DivisorLatchBehindDlab) {
  outb(io, kLcr, 0x83);
  outb(io, kDll, 0x01);
  outb(io, kDlm, 0x02);
  EXPECT_EQ(inb(io, kDll), 0x01);
  EXPECT_EQ(inb(io, kDlm), 0x02);
  EXPECT_EQ(output, "");  // writes at 0 with DLAB set do not transmit
  outb(io, kLcr, 0x03);
  EXPECT_EQ(inb(io, kLcr), 0x03);
  EXPECT_EQ(inb(io, kIer), 0x00);  // IER again, not DLM
  outb(io, kIer, 0xff);
  EXPECT_EQ(inb(io, kIer), 0x0f);  // only the four interrupt enables exist
  outb(io, kLcr, 0x80);
  EXPECT_EQ(inb(io, kDlm), 0x02);
}

TEST_F(Serial16550aTest, TransmitsAndKeepsThrEmpty) {
  outb(io, kThr, 'h');
  outb(io, kThr, 'i');
  EXPECT_EQ(output, "hi");
  EXPECT_EQ(inb(io, kLsr), 0x60);
}

TEST_F(Serial16550aTest, ScratchRegisterAndWideAccessSplitByTheBus) {
  outb(io, kScr, 0x5a);
  EXPECT_EQ(inb(io, kScr), 0x5a);
  EXPECT_EQ(bus_read(io, kLsr, 2), 0xb060u);  // LSR | MSR << 8, two byte accesses
}

TEST_F(Serial16550aTest, HoldingRegisterWithoutFifo) {
  EXPECT_EQ(receive("ab"), 1u);  // one holding byte; 'b' stays with the caller
  EXPECT_EQ(inb(io, kLsr), 0x61);
  EXPECT_EQ(read_rbr(1), "a");
  EXPECT_EQ(inb(io, kLsr), 0x60);
  EXPECT_EQ(rx_space_calls, 1);
  EXPECT_EQ(read_rbr(1), "a");  // empty: RBR keeps the last byte
  EXPECT_EQ(rx_space_calls, 1);
  EXPECT_EQ(receive("b"), 1u);
  EXPECT_EQ(read_rbr(1), "b");
}

TEST_F(Serial16550aTest, FifoHoldsSixteenBytesInOrder) {
  outb(io, kFcr, 0x01);
  EXPECT_EQ(inb(io, kIir), 0xc1);
  EXPECT_EQ(receive("0123456789abcdefXYZ"), 16u);
  EXPECT_EQ(receive("X"), 0u);
  EXPECT_EQ(inb(io, kLsr), 0x61);
  EXPECT_EQ(read_rbr(16), "0123456789abcdef");
  EXPECT_EQ(inb(io, kLsr), 0x60);
  EXPECT_EQ(rx_space_calls, 16);
}

TEST_F(Serial16550aTest, ReceiveBackpressureAndRxSpaceCallback) {
  outb(io, kFcr, 0x01);
  std::string input(20, 'x');
  size_t sent = receive(input);
  EXPECT_EQ(sent, 16u);
  EXPECT_EQ(rx_space_calls, 0);
  read_rbr(1);
  EXPECT_EQ(rx_space_calls, 1);
  EXPECT_EQ(receive(input.substr(sent)), 1u);
  EXPECT_EQ(inb(io, kLsr) & 0x02, 0);  // nothing was lost: no overrun
}

TEST_F(Serial16550aTest, FifoTriggerLevelAndTimeout) {
  outb(io, kIer, 0x01);
  outb(io, kFcr, 0xc1);  // trigger at 14
  EXPECT_EQ(receive("0123456789abc"), 13u);
  EXPECT_EQ(inb(io, kIir), 0xcc);  // below trigger: character timeout
  EXPECT_EQ(receive("d"), 1u);
  EXPECT_EQ(inb(io, kIir), 0xc4);  // trigger reached: data available
  read_rbr(1);
  EXPECT_EQ(inb(io, kIir), 0xcc);
  outb(io, kFcr, 0x41);  // trigger at 4
  EXPECT_EQ(inb(io, kIir), 0xc4);
  outb(io, kFcr, 0x81);  // trigger at 8
  EXPECT_EQ(inb(io, kIir), 0xc4);
  read_rbr(6);
  EXPECT_EQ(inb(io, kIir), 0xcc);
}

TEST_F(Serial16550aTest, FifoClearAndFifoToggleEmptyTheReceiver) {
  outb(io, kFcr, 0x01);
  receive("abc");
  outb(io, kFcr, 0x03);  // clear RX
  EXPECT_EQ(inb(io, kLsr), 0x60);
  EXPECT_EQ(rx_space_calls, 1);
  receive("abc");
  outb(io, kFcr, 0x05);  // clear TX only
  EXPECT_EQ(inb(io, kLsr), 0x61);
  outb(io, kFcr, 0x00);  // disabling the FIFOs resets them
  EXPECT_EQ(inb(io, kLsr), 0x60);
  EXPECT_EQ(inb(io, kIir), 0x01);
  EXPECT_EQ(rx_space_calls, 2);
}

TEST_F(Serial16550aTest, ThrEmptyInterruptArmedByIerAndAcknowledgedByIir) {
  outb(io, kIer, 0x02);
  EXPECT_TRUE(uart.interrupt_pending());
  EXPECT_EQ(inb(io, kIir), 0x02);
  EXPECT_EQ(inb(io, kIir), 0x01);  // the IIR read acknowledged it
  outb(io, kThr, 'x');
  EXPECT_EQ(inb(io, kIir), 0x02);  // THR empty again after the byte went out
  outb(io, kIer, 0x00);
  outb(io, kIer, 0x02);
  EXPECT_EQ(inb(io, kIir), 0x02);
}

TEST_F(Serial16550aTest, InterruptPriorities) {
  outb(io, kFcr, 0x01);
  outb(io, kMcr, 0x10);  // loopback: modem lines drop from 0xb0, deltas latch
  for (int i = 0; i < 17; ++i) outb(io, kThr, static_cast<uint8_t>('a' + i));  // 17th overruns
  EXPECT_EQ(output, "");
  EXPECT_EQ(inb(io, kIir), 0xc1);  // nothing enabled
  outb(io, kIer, 0x0f);
  EXPECT_EQ(inb(io, kIir), 0xc6);  // receiver line status (overrun)
  EXPECT_EQ(inb(io, kLsr), 0x63);  // DR | OE | THRE | TEMT
  EXPECT_EQ(inb(io, kIir), 0xc4);  // data available
  EXPECT_EQ(read_rbr(16), "abcdefghijklmnop");
  EXPECT_EQ(inb(io, kIir), 0xc2);  // THR empty
  EXPECT_EQ(inb(io, kIir), 0xc0);  // modem status
  EXPECT_EQ(inb(io, kMsr), 0x0b);  // DDCD | DDSR | DCTS, all lines low
  EXPECT_EQ(inb(io, kIir), 0xc1);
  EXPECT_FALSE(uart.interrupt_pending());
}

TEST_F(Serial16550aTest, LoopbackWiresModemLinesAndReceiver) {
  outb(io, kMcr, 0x1a);  // Linux's probe: loop | OUT2 | RTS
  EXPECT_EQ(inb(io, kMsr) & 0xf0, 0x90);
  outb(io, kMcr, 0x1f);
  EXPECT_EQ(inb(io, kMsr), 0xf2);  // all lines, DSR newly raised
  outb(io, kMcr, 0x1b);            // OUT1 (RI) falls: trailing edge
  EXPECT_EQ(inb(io, kMsr), 0xb4);
  outb(io, kThr, 'x');
  EXPECT_EQ(output, "");
  EXPECT_EQ(read_rbr(1), "x");
  EXPECT_EQ(receive("y"), 0u);  // the serial input is disconnected in loopback
  outb(io, kMcr, 0x10);
  EXPECT_EQ(inb(io, kMsr), 0x0b);  // CTS, DSR and DCD fell
  int calls = rx_space_calls;
  outb(io, kMcr, 0x00);
  EXPECT_EQ(rx_space_calls, calls + 1);  // the console may push again
  EXPECT_EQ(receive("y"), 1u);
  EXPECT_EQ(inb(io, kMsr), 0xbb);  // the idle lines are back, each change latched
}

TEST_F(Serial16550aTest, LoopbackOverrunWithoutFifoReplacesHoldingByte) {
  outb(io, kMcr, 0x10);
  outb(io, kThr, 'a');
  outb(io, kThr, 'b');
  EXPECT_EQ(inb(io, kLsr), 0x63);
  EXPECT_EQ(inb(io, kLsr), 0x61);  // OE cleared by the read
  EXPECT_EQ(read_rbr(1), "b");
}

TEST_F(Serial16550aTest, LoopbackBreakSetsBreakAndFifoError) {
  outb(io, kFcr, 0x01);
  outb(io, kMcr, 0x10);
  outb(io, kThr, 'a');
  outb(io, kLcr, 0x40);  // break: the receiver gets a zero byte flagged BI
  outb(io, kIer, 0x04);
  EXPECT_EQ(inb(io, kIir), 0xc1);  // the break byte is not at the top yet
  EXPECT_EQ(inb(io, kLsr), 0xe1);  // but FIFO error (bit 7) is set
  EXPECT_EQ(read_rbr(1), "a");
  EXPECT_EQ(inb(io, kIir), 0xc6);  // break reached the top
  EXPECT_EQ(inb(io, kLsr), 0xf1);  // DR | BI | THRE | TEMT | FIFO error
  EXPECT_EQ(inb(io, kLsr), 0xe1);  // BI reported once
  EXPECT_EQ(inb(io, kIir), 0xc1);
  EXPECT_EQ(read_rbr(1), std::string(1, '\0'));
  EXPECT_EQ(inb(io, kLsr), 0x60);
}

TEST_F(Serial16550aTest, IrqCallbackFollowsTheInterruptLevel) {
  std::vector<bool> levels;
  uart.set_irq_callback([&](bool level) { levels.push_back(level); });
  outb(io, kIer, 0x01);
  EXPECT_TRUE(levels.empty());
  receive("a");
  EXPECT_EQ(levels, std::vector<bool>{true});
  EXPECT_TRUE(uart.interrupt_pending());
  read_rbr(1);
  EXPECT_EQ(levels, (std::vector<bool>{true, false}));
  EXPECT_FALSE(uart.interrupt_pending());
}

TEST_F(Serial16550aTest, ConcurrentInputArrivesInOrderExactlyOnce) {
  outb(io, kFcr, 0x01);
  constexpr int kBytes = 4000;
  std::thread console([this] {
    for (int sent = 0; sent < kBytes;) {
      uint8_t chunk[7];
      for (int i = 0; i < 7; ++i) chunk[i] = static_cast<uint8_t>((sent + i) * 7);
      size_t n = uart.receive(std::span(chunk, std::min(7, kBytes - sent)));
      sent += static_cast<int>(n);
      if (n == 0) std::this_thread::yield();
    }
  });
  int received = 0, wrong = 0;
  while (received < kBytes) {
    if (inb(io, kLsr) & 0x01) {
      if (inb(io, kRbr) != static_cast<uint8_t>(received * 7)) ++wrong;
      ++received;
    } else {
      std::this_thread::yield();
    }
  }
  console.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(inb(io, kLsr), 0x60);
}

}  // namespace
}  // namespace kagami
