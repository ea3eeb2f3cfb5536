/** The one provider shape the domain modules need: EIP-1193's `request`. */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] | object }): Promise<unknown>;
}

/** Adapts an EIP-1193 provider to the `send(method, params)` shape OpenZeppelin's core expects. */
export function toSendProvider(provider: Eip1193Provider) {
  return {
    send: (method: string, params: unknown[]) => provider.request({ method, params }),
  } as { send(method: string, params: unknown[]): Promise<any> };
}
