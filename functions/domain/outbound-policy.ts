/**
 * Where the factory's servers may send requests (webhook_call, process_image by URL, any later
 * outbound call): public internet addresses only, unless the deployment allows more.
 * Refused: loopback, private (RFC 1918), carrier-grade NAT, link-local (169.254/16 with the
 * instance metadata service, fe80::/10), unique-local (fc00::/7), multicast, unspecified,
 * documentation and other reserved ranges — judged on the resolved address, so a public name
 * pointing inward is refused too. The allow-list (`-c robot-factory:outboundAllowList=…`,
 * OUTBOUND_ALLOW_LIST locally) names hosts or CIDRs that are let through all the same.
 */
import { BlockList, isIP } from 'node:net';

/** Ranges that are not the public internet. */
const nonPublic: readonly [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.0.2.0', 24, 'ipv4'],
  ['192.88.99.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['198.51.100.0', 24, 'ipv4'],
  ['203.0.113.0', 24, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'],
  ['100::', 64, 'ipv6'],
  ['2001:db8::', 32, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];
const blocked = new BlockList();
for (const [address, prefix, family] of nonPublic) blocked.addSubnet(address, prefix, family);

export interface AllowList {
  /** Host names let through whatever they resolve to (lower case). */
  readonly hosts: ReadonlySet<string>;
  /** Addresses and ranges let through. */
  readonly addresses: BlockList;
  /** The entries as given, for messages. */
  readonly entries: readonly string[];
}

/** A comma-separated allow-list: host names, addresses, CIDRs. Throws on an entry it cannot read. */
export function parseAllowList(raw: string | undefined): AllowList {
  const entries = (raw ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const hosts = new Set<string>();
  const addresses = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const family = isIP(address);
    if (family) {
      const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
      if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128))
        throw new Error(`Outbound allow-list entry "${entry}" has an invalid prefix length`);
      addresses.addSubnet(address, bits, family === 4 ? 'ipv4' : 'ipv6');
    } else if (prefix === undefined && /^[a-z0-9.-]+$/i.test(entry)) {
      hosts.add(entry.toLowerCase());
    } else {
      throw new Error(`Outbound allow-list entry "${entry}" is neither a host name nor an address/CIDR`);
    }
  }
  return { hosts, addresses, entries };
}

/** An IPv4 address written as IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it is. */
function normalized(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { address: mapped[1] as string, family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

export type DestinationVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: string };

/** Whether a request to `host` may connect to `address` (one of the addresses it resolved to). */
export function judgeDestination(host: string, address: string, allow: AllowList): DestinationVerdict {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (allow.hosts.has(name)) return { allowed: true };
  const ip = normalized(address);
  if (allow.addresses.check(ip.address, ip.family)) return { allowed: true };
  if (!blocked.check(ip.address, ip.family)) return { allowed: true };
  return {
    allowed: false,
    reason: `destination not allowed: ${host} is ${address}, not a public address (allow it with the outbound allow-list)`,
  };
}
