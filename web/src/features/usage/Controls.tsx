import { useState, type ReactNode } from "react";
import type { WindowSize } from "../../lib/format";
import type { Meter } from "../../lib/tenant";
import { dateIn, isTimeZone, RANGE_PRESETS, type RangePreset } from "../../lib/timeRange";
import type { UsageQueryState } from "./queryState";

/** A label naming its control by id: the control's accessible name is the label alone
 * (a wrapping label would also take in a select's option texts). */
function Field({ id, label, children }: { id: string; label: string; children: ReactNode }) {
  return <div className="field"><label htmlFor={id}>{label}</label>{children}</div>;
}

const COMMON_ZONES = ["UTC", "America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Berlin",
  "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney"];

export function Controls({ state, meters, onChange }: {
  state: UsageQueryState; meters: Meter[]; onChange: (next: UsageQueryState) => void;
}) {
  const [zone, setZone] = useState(state.tz);
  const groupable = [...new Set((state.meter ? meters.filter((m) => m.slug === state.meter) : meters)
    .flatMap((m) => m.group_by))];
  const set = (patch: Partial<UsageQueryState>) => onChange({ ...state, ...patch });
  const zones = [...new Set([state.tz, ...COMMON_ZONES])];

  return (
    <form className="controls" aria-label="Usage query" onSubmit={(e) => e.preventDefault()}>
      <Field id="q-meter" label="Meter">
        <select id="q-meter" value={state.meter} onChange={(e) => set({ meter: e.target.value, groupBy: [] })}>
          <option value="">All meters</option>
          {meters.map((m) => <option key={m.slug} value={m.slug}>{m.slug}</option>)}
        </select>
      </Field>
      <Field id="q-range" label="Range">
        <select id="q-range" value={state.range} onChange={(e) => {
          const range = e.target.value as RangePreset;
          const today = dateIn(new Date(), state.tz);
          set(range === "custom" ? { range, fromDate: state.fromDate ?? today, toDate: state.toDate ?? today } : { range });
        }}>
          {RANGE_PRESETS.map((p) => <option key={p.value} value={p.value}>{p.label}</option>)}
        </select>
      </Field>
      {state.range === "custom" && (
        <>
          <label>From<input type="date" value={state.fromDate ?? ""} onChange={(e) => set({ fromDate: e.target.value })} /></label>
          <label>To (included)<input type="date" value={state.toDate ?? ""} onChange={(e) => set({ toDate: e.target.value })} /></label>
        </>
      )}
      <Field id="q-window" label="Window">
        <select id="q-window" value={state.window} onChange={(e) => set({ window: e.target.value as WindowSize })}>
          <option value="minute">Minute</option><option value="hour">Hour</option>
          <option value="day">Day</option><option value="month">Month</option>
        </select>
      </Field>
      <Field id="q-tz" label="Time zone">
        <input id="q-tz" list="zones" value={zone} aria-invalid={!isTimeZone(zone)}
               onChange={(e) => setZone(e.target.value)}
               onBlur={() => isTimeZone(zone) ? set({ tz: zone }) : setZone(state.tz)}
               onKeyDown={(e) => { if (e.key === "Enter" && isTimeZone(zone)) set({ tz: zone }); }} />
        <datalist id="zones">{zones.map((z) => <option key={z} value={z} />)}</datalist>
      </Field>
      {groupable.length > 0 && (
        <fieldset className="inline-fieldset">
          <legend>Group by</legend>
          {groupable.map((g) => (
            <label key={g} className="check">
              <input type="checkbox" checked={state.groupBy.includes(g)} onChange={(e) => set({
                groupBy: e.target.checked ? [...state.groupBy, g] : state.groupBy.filter((x) => x !== g),
              })} />{g}
            </label>
          ))}
        </fieldset>
      )}
      <label className="check">
        <input type="checkbox" checked={state.bySubject} onChange={(e) => set({ bySubject: e.target.checked })} />
        By subject
      </label>
    </form>
  );
}
