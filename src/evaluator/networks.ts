// Address-in-network tests for conditions (`ip in "10.0.0.0/8"`) and for the `connections`
// and `listener` promises. IPv4-mapped IPv6 peers (::ffff:10.0.0.1) count as their IPv4 address.
import { net } from "../native/builtins-on-use.js";
import { normaliseAddress } from "../probes/net-address.js";

export class Networks {
  private readonly list = new (net().BlockList)();
  readonly texts: string[];

  /** `networks` as written in a policy: addresses or CIDRs, v4 or v6 (already checked) */
  constructor(networks: string[]) {
    this.texts = networks;
    const { isIPv4 } = net();
    for (const n of networks) {
      const [addr, prefix] = n.split("/") as [string, string | undefined];
      const a = normaliseAddress(addr) ?? addr;
      const type = isIPv4(a) ? "ipv4" : "ipv6";
      if (prefix === undefined) this.list.addAddress(a, type);
      else this.list.addSubnet(a, Math.max(0, Number(prefix) - (type === "ipv4" && !isIPv4(addr) ? 96 : 0)), type);
    }
  }

  contains(address: string): boolean {
    const a = normaliseAddress(address) ?? address;
    const { isIPv4, isIPv6 } = net();
    if (isIPv4(a)) return this.list.check(a, "ipv4");
    if (isIPv6(a)) return this.list.check(a, "ipv6");
    return false;
  }
}
