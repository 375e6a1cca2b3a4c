/** An error a user can act on: a short headline and what to do next (the message box shows both). */
export class UserError extends Error {
  /** @param {string} title short headline @param {string} advice what to do next */
  constructor(title, advice, cause) {
    super(`${title} ${advice}`);
    this.name = new.target.name;
    this.title = title;
    this.advice = advice;
    this.cause = cause;
  }
}
