// Raft messages on the node-to-node transport, whose bodies are JSON: Buffers (entry data, snapshot chunks) travel
// as {"$b64": "..."} and come back as Buffers. Everything else in a message is plain JSON already.

const B64 = '$b64';

/** A JSON-ready copy of `value` with every Buffer replaced by its base64 form. */
export function toWire(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return { [B64]: value.toString('base64') };
  if (value instanceof Uint8Array) return { [B64]: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v);
    return out;
  }
  return value;
}

/** The inverse of toWire, on what JSON.parse gave. */
export function fromWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === B64 && typeof o[B64] === 'string') return Buffer.from(o[B64], 'base64');
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = fromWire(o[k]);
    return out;
  }
  return value;
}
