// Amounts are exact: they arrive as decimal strings of base units and are
// formatted with BigInt, never through floating point. The exact base
// units are always in the element's title.

export interface AssetInfo {
  symbol: string;
  decimals: number;
}

const natives: Record<string, AssetInfo> = {
  btc: { symbol: "BTC", decimals: 8 },
  eth: { symbol: "ETH", decimals: 18 },
  tron: { symbol: "TRX", decimals: 6 },
  ltc: { symbol: "LTC", decimals: 8 },
  bch: { symbol: "BCH", decimals: 8 },
  doge: { symbol: "DOGE", decimals: 8 },
  dash: { symbol: "DASH", decimals: 8 },
  zec: { symbol: "ZEC", decimals: 8 },
  xmr: { symbol: "XMR", decimals: 12 },
  xrp: { symbol: "XRP", decimals: 6 },
  xlm: { symbol: "XLM", decimals: 7 },
  sol: { symbol: "SOL", decimals: 9 },
};

// Well-known tokens by contract (lower case), chain:contract.
const tokens: Record<string, AssetInfo> = {
  "eth:0xdac17f958d2ee523a2206206994597c13d831ec7": { symbol: "USDT", decimals: 6 },
  "eth:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48": { symbol: "USDC", decimals: 6 },
  "eth:0x6b175474e89094c44da98b954eedeac495271d0f": { symbol: "DAI", decimals: 18 },
  "eth:0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2": { symbol: "WETH", decimals: 18 },
  "eth:0xae7ab96520de3a18e5e111b6eaab095312d7fe84": { symbol: "stETH", decimals: 18 },
  "eth:0xd5f7838f5c461feff7fe49ea5ebaf7728bb0adfa": { symbol: "mETH", decimals: 18 },
  "eth:0xe6829d9a7ee3040e1276fa75293bde931859e8fa": { symbol: "cmETH", decimals: 18 },
  "eth:0x2260fac5e5542a773aa44fbcfedf7c193bc2c599": { symbol: "WBTC", decimals: 8 },
  "tron:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t": { symbol: "USDT", decimals: 6 },
};

export function assetInfo(chain: string, asset?: string): AssetInfo | null {
  if (!asset) return natives[chain] ?? null;
  return tokens[chain + ":" + (chain === "tron" ? asset : asset.toLowerCase())] ?? null;
}

const digitsOnly = /^[0-9]+$/;

// formatUnits places the decimal point in the integer's digits and groups
// the whole part by thousands: formatUnits("1500000000000000000", 18) is
// "1.5". It throws on anything but a non-negative integer string.
export function formatUnits(base: string, decimals: number, group = true): string {
  if (!digitsOnly.test(base)) throw new Error("not a base-unit amount: " + base);
  const v = BigInt(base);
  const scale = 10n ** BigInt(decimals);
  const whole = (v / scale).toString();
  let frac = decimals > 0 ? (v % scale).toString().padStart(decimals, "0").replace(/0+$/, "") : "";
  const w = group ? whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") : whole;
  return frac ? w + "." + frac : w;
}

// parseUnits reads a human amount ("1.5") into base units, exactly.
export function parseUnits(human: string, decimals: number): string {
  const s = human.trim().replace(/,/g, "");
  const m = /^([0-9]*)(?:\.([0-9]*))?$/.exec(s);
  if (!m || (m[1] === "" && (m[2] ?? "") === "")) throw new Error("not an amount: " + human);
  const frac = m[2] ?? "";
  if (frac.length > decimals) throw new Error("more than " + decimals + " decimals: " + human);
  const v = BigInt(m[1] || "0") * 10n ** BigInt(decimals) + BigInt((frac + "0".repeat(decimals - frac.length)) || "0");
  return v.toString();
}

// assetLabel names an asset for display.
export function assetLabel(chain: string, asset?: string): string {
  const info = assetInfo(chain, asset);
  if (info) return info.symbol;
  if (!asset) return chain.toUpperCase();
  return asset.length > 14 ? asset.slice(0, 6) + "…" + asset.slice(-4) : asset;
}

// amountText writes an amount in human units where the asset's decimals
// are known, else in base units.
export function amountText(chain: string, asset: string | undefined, base: string): string {
  const info = assetInfo(chain, asset);
  if (!digitsOnly.test(base ?? "")) return String(base ?? "");
  if (!info) return formatUnits(base, 0) + " " + assetLabel(chain, asset);
  return formatUnits(base, info.decimals) + " " + info.symbol;
}

// amountEl is an amount with its exact base units on hover.
export function amountEl(chain: string, asset: string | undefined, base: string): HTMLElement {
  const el = document.createElement("span");
  el.className = "amount";
  el.textContent = amountText(chain, asset, base);
  el.title = (base ?? "") + " base units" + (asset ? " of " + asset : "");
  return el;
}

// ratio is a/b in [0, 1] for sizing only (edge widths), never shown.
export function ratio(a: string, b: string): number {
  const x = BigInt(a || "0");
  const y = BigInt(b || "0");
  if (y === 0n) return 0;
  return Number((x * 1_000_000n) / y) / 1_000_000;
}
