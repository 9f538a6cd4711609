import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("connections", {
  valid: [
    'connections 5432 { sources = "10.20.0.0/24" }',
    'connections [5432, 1433] { sources = [10.20.0.0/24, "fd00::/8", "10.20.1.15"] max_per_source = 10 max_total = 50 }',
    'connections 443 { direction = outbound min_total = 1 process = "ledger-postd" }',
    "connections 5432 { sources = [fd00::/8, 2001:db8::1, ::ffff:10.0.0.1, 10.0.0.0/8] }",
  ],
  invalid: [
    { promise: "connections 0 { max_total = 1 }", code: "E103", message: "the promiser of `connections` must be a port number (1-65535), got `0`" },
    { promise: "connections 5432 { max_per_source = 50 max_total = 10 }", code: "E119" },
    { promise: "connections 5432 { direction = inbound }", code: "E104", message: /promises nothing/ },
    { promise: 'connections 5432 { sources = ["300.1.1.1"] }', code: "E103", message: /each part of an IPv4 address is 0 to 255/ },
    { promise: 'connections 5432 { sources = ["fd00::/129"] }', code: "E103", message: /prefix length must be 0 to 128/ },
    { promise: "connections 5432 { sources = [fd00::/129] }", code: "E103", message: /prefix length must be 0 to 128/ },
    { promise: "connections 5432 { sources = [1::2::3] }", code: "E103", message: /not an IPv4 or IPv6 address/ },
  ],
});
