import type { Command } from 'commander';
import { ListQueuesResponse } from '@wharf/contracts';
import type { ContextFactory } from './cli-context';
import { action } from './job-commands';
import { formatData, formatTable } from './output-format';
import { messageToJson } from './proto-json';

function gib(bytes: number): string {
  return bytes ? `${(bytes / 2 ** 30).toFixed(1)}Gi` : '0';
}

export function registerQueueCommands(program: Command, contexts: ContextFactory): void {
  const queue = program.command('queue').summary('queues and their usage');
  queue
    .command('list')
    .summary('list queues: weight, waiting and running jobs, quota used')
    .action(
      action(contexts, async (ctx) => {
        const list = await ctx.api().listQueues();
        if (ctx.config.output !== 'table') {
          ctx.print(
            formatData(
              ctx.config.output,
              messageToJson(ListQueuesResponse, 'wharf.v1.ListQueuesResponse', list),
            ),
          );
          return;
        }
        ctx.print(
          list.queues.length
            ? formatTable(
                ['QUEUE', 'WEIGHT', 'QUEUED', 'RUNNING', 'CPU', 'MEMORY', 'GPU', 'SHARE'],
                list.queues.map(({ queue: q, usage: u }) => [
                  q?.name ?? '-',
                  String(q?.weight ?? 0),
                  String(u?.queued ?? 0),
                  `${u?.running ?? 0}${q?.maxRunning ? `/${q.maxRunning}` : ''}`,
                  `${u?.used?.cpu ?? 0}/${q?.quota?.cpu || '∞'}`,
                  `${gib(u?.used?.memory ?? 0)}/${q?.quota?.memory ? gib(q.quota.memory) : '∞'}`,
                  `${u?.used?.gpu ?? 0}/${q?.quota?.gpu || '∞'}`,
                  (u?.weightedShare ?? 0).toFixed(2),
                ]),
              )
            : 'no queues\n',
        );
      }),
    );
}
