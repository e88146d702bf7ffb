/**
 * The V8 heap limits Lambda's Node.js runtime gives a function of a memory size: its
 * `bootstrap` script starts Node with a new space of a tenth of the memory (two semi-spaces)
 * and the rest as old space. The memory measurements run their processes with them, so the
 * young generation fills and empties as it would in the function (at 256 MB: 12 MB
 * semi-spaces, where this machine's default is 16 MiB). These values are read from the
 * runtime's bootstrap script, not from AWS documentation, which states no V8 flags: an
 * assumption of the bench, which `memoryMachineDefaults` brackets.
 */
export function lambdaNodeFlags(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [`--max-semi-space-size=${Math.floor(newSpace / 2)}`, `--max-old-space-size=${memoryMb - newSpace}`];
}
