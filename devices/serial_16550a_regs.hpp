// 16550A register offsets and bits, shared by the UART model and its saved state.
#pragma once

#include <cstdint>

namespace kagami::uart {

// Register offsets from the base port (DLAB selects the divisor latch at 0 and 1).
inline constexpr uint64_t kRbrThr = 0, kIer = 1, kIirFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5,
                          kMsr = 6, kScr = 7;

inline constexpr uint8_t kIerRxData = 0x01, kIerThre = 0x02, kIerRxLine = 0x04, kIerModem = 0x08;
inline constexpr uint8_t kIerMask = 0x0f;

// IIR interrupt identifiers, highest priority first.
inline constexpr uint8_t kIirRxLine = 0x06, kIirRxData = 0x04, kIirRxTimeout = 0x0c,
                         kIirThre = 0x02, kIirModem = 0x00, kIirNone = 0x01;
inline constexpr uint8_t kIirFifoEnabled = 0xc0;

inline constexpr uint8_t kFcrEnable = 0x01, kFcrClearRx = 0x02, kFcrClearTx = 0x04, kFcrDma = 0x08;
inline constexpr uint8_t kFcrTriggerMask = 0xc0;

inline constexpr uint8_t kLcrBreak = 0x40, kLcrDlab = 0x80;

inline constexpr uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08,
                         kMcrLoop = 0x10, kMcrMask = 0x1f;

inline constexpr uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrPe = 0x04, kLsrFe = 0x08, kLsrBi = 0x10,
                         kLsrThre = 0x20, kLsrTemt = 0x40, kLsrFifoError = 0x80;
inline constexpr uint8_t kLsrLineErrors = kLsrOe | kLsrPe | kLsrFe | kLsrBi;

inline constexpr uint8_t kMsrDcts = 0x01, kMsrDdsr = 0x02, kMsrTeri = 0x04, kMsrDdcd = 0x08;
inline constexpr uint8_t kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80;
// Modem inputs outside loopback: the console has no modem lines, so like QEMU the board shows
// carrier, data set ready and clear to send.
inline constexpr uint8_t kMsrIdleLines = kMsrDcd | kMsrDsr | kMsrCts;

}  // namespace kagami::uart
