#!/usr/bin/env node
import { cancelOnSignals } from "../commands/signals.js";
import { nodeTooOld } from "./node-version.js";

// Checked before the rest of the CLI is loaded, so an old Node gets one clear line rather than a
// missing zlib function or a dependency's warning halfway through a backup.
const tooOld = nodeTooOld(process.versions.node);
if (tooOld) {
  process.stderr.write(`lifeboat: error: ${tooOld}\n`);
  process.exit(2);
}

// A reader that went away (`lifeboat ... | head`, a closed terminal) fails the next write with
// EPIPE or EIO, which Node raises as an unhandled 'error' and dies of mid-run, leaving a scratch
// database, a decrypted archive and pg_restore behind. Output is best effort: the run goes on to
// its end (or to its cleanup, after a signal) and exits by its outcome.
for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);

// The first Ctrl-C (or the runner's SIGTERM) stops the child processes and aborts uploads
// cleanly, then exits 130 (143; 129 for a hangup); a second one exits at once.
const signal = cancelOnSignals(process);

import("./main.js")
  .then(({ main }) =>
    main({
      argv: process.argv.slice(2),
      env: process.env,
      cwd: process.cwd(),
      stdout: (text) => process.stdout.write(text + "\n"),
      stderr: (text) => process.stderr.write(text + "\n"),
      signal,
    }),
  )
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`lifeboat: error: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
