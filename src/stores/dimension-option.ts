import { TracksError } from '../errors.js';
import { dimensionNameProblem } from '../model/dimensions.js';

/** Checks `summarize({ by })`: a TracksError naming the dimension and the rule, before it reaches a query. */
export function assertDimension(by: string): void {
  const error = dimensionError(by);
  if (error !== undefined) throw error;
}

/** The TracksError for a bad `by`, or undefined when it is a dimension name. */
export function dimensionError(by: string): TracksError | undefined {
  const problem = dimensionNameProblem(by);
  return problem === undefined ? undefined : new TracksError(`by ${problem}`);
}
