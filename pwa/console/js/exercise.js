// A drill (« EXERCICE ») is said on every view of the event: nobody takes it for the real thing.
export function exerciseBadge(event) {
  return event.exercise
    ? `<span class="exercise-badge" data-testid="exercise-badge" title="Exercice : compté à part, jamais payé">EXERCICE</span>`
    : "";
}
