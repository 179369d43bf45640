/**
 * One user action of a page: the status line says busy / ready / error (the browser tests wait on its
 * data-state), an error is shown in the error box, and `after` runs either way (enable buttons, ...).
 */
export async function runAction(
  ui: { status: HTMLElement; error: HTMLElement },
  what: string,
  fn: () => Promise<void>,
  after: () => void,
): Promise<void> {
  ui.status.dataset.state = 'busy';
  ui.status.textContent = `${what}…`;
  ui.error.hidden = true;
  try {
    await fn();
    ui.status.dataset.state = 'ready';
    ui.status.textContent = '';
  } catch (e) {
    ui.status.dataset.state = 'error';
    ui.status.textContent = '';
    ui.error.hidden = false;
    ui.error.textContent = (e as Error).message;
    console.warn(e);
  } finally {
    after();
  }
}
