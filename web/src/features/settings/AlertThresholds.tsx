// At which percents of each plan limit an alert fires. Everyone reads them; changing them
// needs an admin (api/permissions.py alert_thresholds), so lower roles get no form at all.
import { useEffect, useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Card } from "../../components/Card";
import { ErrorState, QueryView } from "../../components/States";
import { api, ApiError, type Schemas } from "../../lib/api";
import { parseThresholds, problemsText, thresholdsText } from "./thresholds";

type Thresholds = Schemas["AlertThresholdsPublic"];
const KEY = ["alert-thresholds"];

function Shown({ current }: { current: Thresholds }) {
  return (
    <p>
      Alerts fire at{" "}
      <span data-testid="thresholds">{current.percents.map((p) => <span key={p} className="badge">{p}%</span>)}</span>
      <span className="muted small" data-testid="thresholds-source">
        {current.custom ? "chosen for this tenant" : "the platform's default"}
      </span>
    </p>
  );
}

function Editor({ current }: { current: Thresholds }) {
  const queries = useQueryClient();
  const [text, setText] = useState(thresholdsText(current.percents));
  const [problem, setProblem] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => setText(thresholdsText(current.percents)), [current]);
  const save = useMutation({
    mutationFn: (percents: number[] | null) => api<Thresholds>("/v1/notifications/thresholds", {
      method: "PUT", body: { percents } }),
    onSuccess: (updated) => { setSaved(true); queries.setQueryData(KEY, updated); },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    const parsed = parseThresholds(text, { min: current.min_percent, max: current.max_percent, maxCount: current.max_count });
    setProblem(parsed.ok ? null : parsed.problem);
    if (parsed.ok) save.mutate(parsed.percents);
  }
  const sent = save.variables ?? [];
  const refused = save.error instanceof ApiError && save.error.problems.length > 0
    ? problemsText(save.error.problems, sent) : null;
  return (
    <form className="form form-wide" onSubmit={submit} aria-label="Alert thresholds">
      <label>Thresholds (percent of each limit, comma-separated)
        <input value={text} inputMode="numeric" aria-invalid={!!problem}
               onChange={(e) => { setText(e.target.value); setProblem(null); }} />
        {(problem ?? refused) && <span className="field-error" role="alert">{problem ?? refused}</span>}
      </label>
      <p className="muted small">
        Whole numbers from {current.min_percent} to {current.max_percent}, at most {current.max_count}; above 100 warns of an overrun.
      </p>
      <div className="actions">
        <button type="submit" disabled={save.isPending}>Save thresholds</button>
        {current.custom && (
          <button type="button" className="secondary" disabled={save.isPending}
                  onClick={() => { setSaved(false); setProblem(null); save.mutate(null); }}>
            Use the default ({thresholdsText(current.default_percents)})
          </button>
        )}
        {saved && <span role="status" className="ok-text">Saved</span>}
      </div>
      {save.error && !refused && <ErrorState error={save.error} />}
    </form>
  );
}

export function AlertThresholds({ canChange }: { canChange: boolean }) {
  const thresholds = useQuery({ queryKey: KEY, queryFn: () => api<Thresholds>("/v1/notifications/thresholds") });
  return (
    <Card title="Alert thresholds" className="span-3">
      <QueryView query={thresholds} what="alert thresholds">
        {(current) => (
          <>
            <Shown current={current} />
            <p className="muted small">Each fires once per limit per billing period, by email and webhook to the alert targets.</p>
            {canChange ? <Editor current={current} /> : <p className="muted small" data-testid="thresholds-read-only">
              An admin can change them.</p>}
          </>
        )}
      </QueryView>
    </Card>
  );
}
