// Times @cloud-copilot/iam-simulate's core engine on the scenarios bench/policy.py writes.
// Usage: node iam_simulate_driver.mjs SCENARIOS.json  -> JSON results on stdout.
// Policies are loaded once per scenario (as the Python side parses them once); each
// decision builds its request and calls authorize(), the engine behind runSimulation.
import { readFileSync } from 'node:fs'
import { loadPolicy } from '@cloud-copilot/iam-policy'

const base = './node_modules/@cloud-copilot/iam-simulate/dist/esm/'
const { authorize } = await import(base + 'core_engine/CoreSimulatorEngine.js')
const { AwsRequestImpl } = await import(base + 'request/request.js')
const { RequestContextImpl } = await import(base + 'requestContext.js')
const { DiscoveryContextKeyConstraints } = await import(
  base + 'context_keys/discoveryContextKeyConstraints.js'
)

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const seconds = spec.seconds ?? 1.0
const params = {
  simulationMode: 'Strict',
  discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([])
}

function decide(policies, r) {
  return authorize({
    request: new AwsRequestImpl(
      r.principal,
      { resource: r.resource, accountId: r.accountId },
      r.action,
      new RequestContextImpl(r.context),
      false
    ),
    sessionPolicy: undefined,
    identityPolicies: policies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: undefined,
    permissionBoundaries: undefined,
    vpcEndpointPolicies: undefined,
    simulationParameters: params
  }).result
}

const results = {}
for (const sc of spec.scenarios) {
  const policies = sc.policies.map((p, i) => loadPolicy(p, { name: `p${i}` }))
  const outcomes = sc.requests.map((r) => decide(policies, r))
  // Warm up (JIT) before timing, as long as a tenth of the timed run.
  const warm = process.hrtime.bigint()
  while (process.hrtime.bigint() - warm < BigInt(Math.round(seconds * 1e8))) {
    for (const r of sc.requests) decide(policies, r)
  }
  let n = 0
  const start = process.hrtime.bigint()
  const limit = BigInt(Math.round(seconds * 1e9))
  while (process.hrtime.bigint() - start < limit) {
    for (const r of sc.requests) decide(policies, r)
    n += sc.requests.length
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9
  results[sc.name] = { rate: n / elapsed, outcomes }
}
process.stdout.write(JSON.stringify(results))
