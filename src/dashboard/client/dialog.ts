import { el, visible } from './dom.js';

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
  return showModal(dialog, cancel, confirm, (finish) => finish(select?.value ?? ''));
}

/**
 * Shows `dialog` modally until Cancel (or Escape) resolves null or `onConfirm` calls finish
 * with a value; focus starts on Cancel, the safe choice.
 */
function showModal<T>(dialog: HTMLDialogElement, cancel: HTMLButtonElement, confirm: HTMLButtonElement, onConfirm: (finish: (value: T | null) => void) => void): Promise<T | null> {
  document.body.append(dialog);
  return new Promise((resolve) => {
    const finish = (value: T | null) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    cancel.addEventListener('click', () => finish(null));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(null);
    });
    confirm.addEventListener('click', () => onConfirm(finish));
    dialog.showModal();
    cancel.focus();
  });
}

/** What the ramp dialog shows: the set's current coverage and weights, to edit. */
export interface RampOptions {
  readonly title: string;
  readonly message: string;
  readonly coverage: number;
  readonly weights: Readonly<Record<string, number>>;
}

/**
 * Asks for a ramp: coverage (a percentage) and a weight per track, prefilled with the current
 * ones. Resolves with what changed (only the fields edited), or null when cancelled or when
 * nothing changed.
 */
export function rampDialog(options: RampOptions): Promise<{ coverage?: number; weights?: Record<string, number> } | null> {
  const input = (name: string, value: number, step: string): HTMLInputElement => {
    const field = el('input', { attrs: { type: 'number', name, min: '0', step } });
    field.value = String(value);
    return field;
  };
  // The exact percentage (to 12 digits, without binary noise such as 12.345000000000001), and
  // sent only when its text was edited: rounded to a tenth, a coverage of 0.04% read 0 and was
  // sent as a change when only a weight was edited, closing the test to new users.
  const coverage = input('coverage', Number((options.coverage * 100).toPrecision(12)), 'any');
  const shownCoverage = coverage.value;
  coverage.max = '100';
  const weights = Object.entries(options.weights).map(([track, weight]) => [track, input(`weight:${track}`, weight, 'any')] as const);
  const problem = el('p', { class: 'error', data: { field: 'ramp-problem' } });
  const cancel = el('button', { text: 'Cancel', attrs: { type: 'button' }, data: { action: 'cancel' } });
  const confirm = el('button', { text: 'Ramp test', class: 'primary', attrs: { type: 'button' }, data: { action: 'confirm' } });
  const dialog = el('dialog', { attrs: { 'aria-label': options.title } }, [
    el('h2', { text: options.title }),
    el('p', { text: options.message }),
    el('label', { text: 'Coverage (% of eligible keys):' }, [coverage]),
    ...weights.map(([track, field]) => el('label', { text: `Weight of ${track}:` }, [field])),
    problem,
    el('div', { class: 'actions' }, [cancel, confirm]),
  ]);
  return showModal<{ coverage?: number; weights?: Record<string, number> }>(dialog, cancel, confirm, (finish) => {
    const share = Number(coverage.value) / 100;
    if (coverage.value.trim() === '' || !(share >= 0 && share <= 1)) {
      problem.textContent = 'Coverage is a percentage from 0 to 100.';
      return;
    }
    // Without a prototype, a track named '__proto__' is an ordinary key.
    const changed = Object.create(null) as Record<string, number>;
    for (const [track, field] of weights) {
      const weight = Number(field.value);
      if (field.value.trim() === '' || !(weight >= 0)) {
        problem.textContent = visible(`The weight of ${track} must be a number of 0 or more.`);
        return;
      }
      if (weight !== options.weights[track]) changed[track] = weight;
    }
    const change = {
      ...(coverage.value !== shownCoverage && Math.abs(share - options.coverage) > 1e-12 ? { coverage: share } : {}),
      ...(Object.keys(changed).length > 0 ? { weights: changed } : {}),
    };
    finish(Object.keys(change).length === 0 ? null : change);
  });
}
