import { describe, expect, it } from "vitest";
import { parseCSV, queries } from "./csv";

describe("csv", () => {
  it("reads quoted fields", () => {
    expect(parseCSV('a,"b,c","d""e"\r\n1,2,3\n')).toEqual([["a", "b,c", 'd"e'], ["1", "2", "3"]]);
  });
  it("finds the address column", () => {
    expect(queries("id,chain,address\n1,eth,0xabc\n2,,1A1z\n")).toEqual([{ address: "0xabc", chain: "eth" }, { address: "1A1z" }]);
    expect(queries("0xabc\nbtc,1A1z\n\n")).toEqual([{ address: "0xabc" }, { chain: "btc", address: "1A1z" }]);
  });
});
