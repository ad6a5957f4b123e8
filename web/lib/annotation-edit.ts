/**
 * The PUT body for changing a user annotation. The agent's PUT replaces `end_t` and `color` (an
 * omitted one becomes null, docs/api.md "Events and annotations"), so an edit of the label alone
 * must send both back or the band would lose its end and its colour.
 */
export interface EditableEvent {
  t: number;
  label: string;
  end_t?: number | null;
  color?: string | null;
}

export const editBody = (e: EditableEvent, change: { label?: string; end_t?: number | null }) => ({
  label: change.label ?? e.label,
  t: e.t,
  end_t: change.end_t !== undefined ? change.end_t : (e.end_t ?? null),
  color: e.color ?? null,
});
