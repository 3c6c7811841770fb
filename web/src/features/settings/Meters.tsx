import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Card } from "../../components/Card";
import { Empty, ErrorState, QueryView } from "../../components/States";
import { api, type Schemas } from "../../lib/api";
import { useMeters } from "../../lib/tenant";

const AGGREGATIONS = ["COUNT", "SUM", "MAX", "MIN", "AVG", "UNIQUE_COUNT", "LATEST"];

export function Meters({ canCreate }: { canCreate: boolean }) {
  const queries = useQueryClient();
  const meters = useMeters();
  const [slug, setSlug] = useState("");
  const [eventType, setEventType] = useState("");
  const [aggregation, setAggregation] = useState("COUNT");
  const [valuePath, setValuePath] = useState("");
  const [groupBy, setGroupBy] = useState("");
  const create = useMutation({
    mutationFn: (body: Schemas["MeterCreate"]) => api<Schemas["MeterPublic"]>("/v1/meters", { method: "POST", body }),
    onSuccess: () => {
      setSlug(""); setEventType(""); setValuePath(""); setGroupBy("");
      return queries.invalidateQueries({ queryKey: ["meters"] });
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate({
      slug, event_type: eventType, allow_negative: false, aggregation: aggregation as Schemas["MeterCreate"]["aggregation"],
      value_path: aggregation === "COUNT" ? null : valuePath || null,
      group_by: groupBy.split(",").map((g) => g.trim()).filter(Boolean),
    });
  }
  return (
    <Card title="Meters" className="span-3">
      <QueryView query={meters} what="meters">
        {(list) => list.length === 0 ? <Empty title="No meters yet">A meter turns events of one type into usage.</Empty> : (
          <div className="table-wrap">
            <table data-testid="meters">
              <thead><tr><th scope="col">Meter</th><th scope="col">Counts events of type</th><th scope="col">Aggregation</th>
                <th scope="col">Value</th><th scope="col">Group by</th></tr></thead>
              <tbody>{list.map((m) => (
                <tr key={m.slug}><td>{m.slug}</td><td><code>{m.event_type}</code></td><td>{m.aggregation}</td>
                  <td>{m.value_path ? <code>data.{m.value_path}</code> : "–"}</td><td>{m.group_by.join(", ") || "–"}</td></tr>
              ))}</tbody>
            </table>
          </div>
        )}
      </QueryView>
      {canCreate && (
      <form className="controls" onSubmit={submit} aria-label="New meter">
        <label>Meter<input required value={slug} onChange={(e) => setSlug(e.target.value)} placeholder="api-calls" /></label>
        <label>Event type<input required value={eventType} onChange={(e) => setEventType(e.target.value)} placeholder="api.call" /></label>
        <label>Aggregation
          <select value={aggregation} onChange={(e) => setAggregation(e.target.value)}>
            {AGGREGATIONS.map((a) => <option key={a}>{a}</option>)}
          </select>
        </label>
        {aggregation !== "COUNT" && (
          <label>Value path in data<input required value={valuePath} onChange={(e) => setValuePath(e.target.value)} placeholder="tokens" /></label>
        )}
        <label>Group by (comma-separated)<input value={groupBy} onChange={(e) => setGroupBy(e.target.value)} placeholder="region, model" /></label>
        <button type="submit" disabled={create.isPending}>Create meter</button>
      </form>
      )}
      {create.error && <ErrorState error={create.error} />}
    </Card>
  );
}
