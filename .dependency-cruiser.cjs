// Import boundaries of the design (docs/architecture.md): apps → adapters/drivers → commands →
// chat/queue/store/... → core, no cycles. Run by `npm test` (scripts/test.sh) and `npm run structure`.
const chatSdks = '^node_modules/(discord[.]js|@discordjs|discord-api-types|@slack)/';
const clusterDriver = '^(packages/(cluster|kube-sim)/|node_modules/@kubernetes/)';
const tests = '([.]test[.]ts|/testing/)';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make a change in one module ripple back into itself.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-is-the-bottom',
      severity: 'error',
      comment: 'packages/core holds types, schemas and rules: no I/O, no other labbot package, only zod.',
      from: { path: '^packages/core/src/' },
      to: { pathNot: '^(packages/core/|node_modules/zod/)', dependencyTypesNot: ['core'] },
    },
    {
      name: 'core-no-io',
      severity: 'error',
      from: { path: '^packages/core/src/', pathNot: tests },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|net|http|https|child_process|dgram)$' },
    },
    {
      name: 'config-is-a-leaf',
      severity: 'error',
      comment: 'packages/config turns the environment into typed config; it needs no other labbot package but core.',
      from: { path: '^packages/config/' },
      to: { path: '^packages/', pathNot: '^packages/(config|core)/' },
    },
    {
      name: 'lower-layers-stay-low',
      severity: 'error',
      comment:
        'chat/queue/store/lessons/builder/cluster/config never import commands, the runner, an adapter or an app.',
      from: { path: '^packages/(config|chat|queue|store|lessons|builder|cluster)/' },
      to: { path: '^(packages/(commands|runner|chat-discord|chat-slack|chat-terminal)/|apps/)' },
    },
    {
      name: 'commands-sees-only-ports',
      severity: 'error',
      comment:
        'packages/commands is what the bot does: no Redis client, no chat SDK or adapter, no cluster, no Docker.',
      from: { path: '^packages/commands/' },
      to: {
        path: [
          '^node_modules/(ioredis|bullmq|dockerode)/',
          chatSdks,
          clusterDriver,
          '^packages/(chat-discord|chat-slack|chat-terminal|builder|runner)/',
        ],
      },
    },
    {
      name: 'runner-never-chats',
      severity: 'error',
      comment: 'The runner emits LabEvents; chat tokens and SDKs stay in the chat apps.',
      from: { path: '^(packages/runner|apps/runner)/' },
      to: { path: [chatSdks, '^packages/(chat|chat-discord|chat-slack|chat-terminal|commands)/'] },
    },
    {
      name: 'bots-never-drive-the-cluster',
      severity: 'error',
      comment: 'The bots reach the cluster only through the runner (kubectl over a queue).',
      from: { path: '^(apps/(discord|slack)|packages/(chat|chat-discord|chat-slack|chat-terminal))/' },
      to: { path: [clusterDriver, '^packages/(runner|builder)/', '^node_modules/dockerode/'] },
    },
    {
      name: 'one-chat-sdk-per-adapter',
      severity: 'error',
      from: { path: '^(packages/chat-discord|apps/discord)/' },
      to: { path: '^node_modules/@slack/' },
    },
    {
      name: 'one-chat-sdk-per-adapter-slack',
      severity: 'error',
      from: { path: '^(packages/chat-slack|apps/slack)/' },
      to: { path: '^node_modules/(discord[.]js|@discordjs)/' },
    },
    {
      name: 'packages-never-import-apps',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: '^apps/' },
    },
    {
      name: 'product-code-never-imports-tests',
      severity: 'error',
      from: { path: '^(packages|apps)/[^/]+/src/', pathNot: tests },
      to: { path: '[.]test[.]ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      conditionNames: ['labbot-source', 'import', 'node', 'default'],
      exportsFields: ['exports'],
      extensions: ['.ts', '.js', '.json'],
      mainFields: ['module', 'main', 'types'],
    },
  },
};
