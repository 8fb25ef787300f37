import { describe, expect, it } from "vitest";
import { formatUnits, parseUnits, amountText, ratio } from "./amount";

describe("amounts", () => {
  it("formats exactly from base units", () => {
    expect(formatUnits("401346000000000000000000", 18)).toBe("401,346");
    expect(formatUnits("1", 18)).toBe("0.000000000000000001");
    expect(formatUnits("123456789", 8)).toBe("1.23456789");
    expect(formatUnits("0", 8)).toBe("0");
    // 2^256-1 wei: no float could hold it.
    expect(formatUnits("115792089237316195423570985008687907853269984665640564039457584007913129639935", 18, false)).toBe(
      "115792089237316195423570985008687907853269984665640564039457.584007913129639935",
    );
    expect(() => formatUnits("1.5", 18)).toThrow();
    expect(() => formatUnits("-1", 18)).toThrow();
  });
  it("round-trips human units", () => {
    for (const [h, d] of [["1.5", 18], ["0.00000001", 8], ["401346", 18], ["12345678901234567890.123456", 6]] as [string, number][]) {
      expect(formatUnits(parseUnits(h, d), d, false)).toBe(h);
    }
    expect(() => parseUnits("0.123", 2)).toThrow();
    expect(() => parseUnits("1e18", 18)).toThrow();
  });
  it("names assets", () => {
    expect(amountText("eth", "", "1500000000000000000")).toBe("1.5 ETH");
    expect(amountText("btc", undefined, "5000000000")).toBe("50 BTC");
    expect(amountText("eth", "0xdAC17F958D2ee523a2206206994597C13D831ec7", "2500000")).toBe("2.5 USDT");
    expect(amountText("eth", "0x1111111111111111111111111111111111111111", "7")).toBe("7 0x1111…1111");
    expect(ratio("1", "4")).toBe(0.25);
  });
});
