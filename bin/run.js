#!/usr/bin/env node
// The shoal CLI entry point. The launcher runs a command straight from oclif.manifest.json
// (written by `npm run build`; oclif's full start-up costs ~100 ms here) and hands anything it
// cannot (help, topics, the daemon) to oclif. Client commands never load daemon code.
require('../dist/cli/launch')
  .launch(process.argv.slice(2), require('node:path').join(__dirname, '..'))
  // The error handler loads only on failure: requiring it up front costs ~60 ms.
  .catch((err) => require('@oclif/core/handle').handle(err));
