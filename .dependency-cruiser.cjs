/**
 * Import rules that keep the shape of docs/architecture.md#data-flow: no cycles, and no import that points up the
 * layer list below (a layer may import only itself and the layers before it). Run by `npm test` (npm run lint:imports).
 */
const LAYERS = [
  ['util', 'errors'],
  ['plan'],
  ['source'],
  ['format'],
  ['log'],
  ['sql'],
  ['arrow'],
  ['job'],
  ['stateful'],
  ['sink'],
  ['checkpoint'],
  ['landing'],
  ['connectors'],
  ['driver'],
  ['dstream'],
  ['nexmark', 'demo'],
  ['cli'],
  ['index'],
];

const pathOf = (names) => `^src/(${names.join('|')})([./]|$)`;

const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `no-upward-from-${layer.join('-')}`,
  comment: `${layer.join(', ')} must not import what comes later in the data flow (docs/architecture.md#data-flow)`,
  severity: 'error',
  from: { path: pathOf(layer) },
  to: { path: pathOf(LAYERS.slice(i + 1).flat()) },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'import cycles make layers impossible to read one at a time',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-connector-to-connector',
      comment: 'a connector folder stands alone; what two connectors share lives in a layer below them',
      severity: 'error',
      from: { path: '^src/connectors/([^/]+)/' },
      to: { path: '^src/connectors/', pathNot: ['^src/connectors/$1/', '^src/connectors/[^/]+\\.ts$'] },
    },
    {
      name: 'no-tests-or-bench-from-src',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
