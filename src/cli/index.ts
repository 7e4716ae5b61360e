#!/usr/bin/env node
import { cancelOnSignals } from "../commands/command.js";
import { main } from "./main.js";

// The first Ctrl-C (or the runner's SIGTERM) stops the child processes and aborts uploads
// cleanly, then exits 130 (143); a second one exits at once.
const signal = cancelOnSignals(process);

main({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdout: (text) => process.stdout.write(text + "\n"),
  stderr: (text) => process.stderr.write(text + "\n"),
  signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`lifeboat: error: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
