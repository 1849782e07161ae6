// Start the BC-shaped CAP server: node cap/start.js [--port 0]
// Prints one JSON line {"listening": "http://127.0.0.1:PORT", "api": ...} when ready.
const path = require('node:path')

process.chdir(__dirname)
const cds = require('@sap/cds')

const args = process.argv.slice(2)
const portIndex = args.indexOf('--port')
const port = portIndex >= 0 ? Number(args[portIndex + 1]) : 0

cds.on('listening', ({ server }) => {
  const base = `http://127.0.0.1:${server.address().port}`
  const api = cds.services.api.path
  process.stdout.write(`${JSON.stringify({ listening: base, api: `${base}${api}` })}\n`)
})
const stop = () => (cds.shutdown ? cds.shutdown() : process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)

require('@sap/cds/bin/serve')([], { port, 'in-memory': true, project: path.resolve(__dirname) }).catch((error) => {
  process.stderr.write(`${error.stack || error}\n`)
  process.exit(1)
})
