// The switchable upstream of drill 1 in a process of its own: its probe answers must not
// wait behind the drill's 200 clients in the parent's event loop (a slow machine, or jest's
// --detectOpenHandles, would otherwise make the probes time out before anything was killed).
import { SwitchableUpstream } from '../../helpers/switchable-upstream';

interface Command {
  id: number;
  type: 'kill' | 'start' | 'close';
}

const upstream = new SwitchableUpstream();

process.on('message', (command: Command) => {
  const done = (): void => void process.send?.({ type: 'done', id: command.id });
  if (command.type === 'kill') void upstream.kill().then(done);
  if (command.type === 'start') void upstream.start().then(done);
  if (command.type === 'close') void upstream.close().then(done);
});
process.on('disconnect', () => void upstream.close().finally(() => process.exit(0)));
void upstream.start().then(() => process.send?.({ type: 'ready', url: upstream.url }));
