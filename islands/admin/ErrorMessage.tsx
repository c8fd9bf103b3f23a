/** An API error shown to the user, dismissable. */
export function ErrorMessage(
  { error, onDismiss }: { error?: string | null; onDismiss?: () => void },
) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      {onDismiss && (
        <button type="button" class="link dismiss" aria-label="Dismiss" onClick={onDismiss}>
          ×
        </button>
      )}
      {error}
    </div>
  );
}
