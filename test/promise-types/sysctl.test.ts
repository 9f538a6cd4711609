import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("sysctl", {
  valid: ['sysctl "kernel.randomize_va_space" { value = 2 repair = set }', 'sysctl "net.ipv4.tcp_congestion_control" { value = "cubic" }'],
  invalid: [
    { promise: 'sysctl "ip_forward" { value = 0 }', code: "E103", message: /a dotted key/ },
    { promise: 'sysctl "net.ipv4.ip_forward" { repair = set }', code: "E104", message: "`sysctl` promise needs `value`" },
  ],
});
