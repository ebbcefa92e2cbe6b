import { el } from './dom.js';

/**
 * A confirmation dialog (a DOM `<dialog>`, so it is styled like the page and can be driven by
 * tests). Resolves with the chosen value, or null when cancelled.
 */
export interface ConfirmOptions {
  readonly title: string;
  readonly message: string;
  readonly confirmLabel: string;
  readonly danger?: boolean;
  /** A choice to make before confirming (e.g. the track to serve). */
  readonly choice?: { readonly label: string; readonly options: readonly string[]; readonly selected: string };
}

/** Asks for confirmation; resolves with the choice (or '' without one), or null when cancelled. */
export function confirmDialog(options: ConfirmOptions): Promise<string | null> {
  const select =
    options.choice === undefined
      ? null
      : el(
          'select',
          { attrs: { name: 'choice' } },
          options.choice.options.map((name) => {
            const option = el('option', { text: name });
            option.value = name;
            option.selected = name === options.choice!.selected;
            return option;
          }),
        );
  const cancel = el('button', { text: 'Cancel', attrs: { type: 'button' }, data: { action: 'cancel' } });
  const confirm = el('button', {
    text: options.confirmLabel,
    class: options.danger ? 'danger' : 'primary',
    attrs: { type: 'button' },
    data: { action: 'confirm' },
  });
  const dialog = el('dialog', { attrs: { 'aria-label': options.title } }, [
    el('h2', { text: options.title }),
    el('p', { text: options.message }),
    select === null ? null : el('label', { text: options.choice!.label }, [select]),
    el('div', { class: 'actions' }, [cancel, confirm]),
  ]);
  document.body.append(dialog);
  return new Promise((resolve) => {
    const finish = (value: string | null) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    cancel.addEventListener('click', () => finish(null));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(null);
    });
    confirm.addEventListener('click', () => finish(select?.value ?? ''));
    dialog.showModal();
    cancel.focus();
  });
}
