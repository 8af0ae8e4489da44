const discordEpoch = 1420070400000n;
let increment = 0n;

/** A fresh Discord snowflake whose timestamp is `now`, unique within this process. */
export function nextSnowflake(now: number = Date.now()): string {
  increment = (increment + 1n) & 0xfffn;
  return (((BigInt(now) - discordEpoch) << 22n) | (1n << 17n) | increment).toString();
}

/** A random interaction/webhook token in the shape Discord uses (long, URL-safe). */
export function randomToken(): string {
  const bytes = new Uint8Array(48);
  crypto.getRandomValues(bytes);
  return `aW50ZXJhY3Rpb24${Buffer.from(bytes).toString('base64url')}`;
}
