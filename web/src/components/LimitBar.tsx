// A meter's usage against its plan limit: the bar fills to the limit and turns amber at
// 80% and red at 100%, the thresholds the limit alerts use. The ratio is geometry only.
import { chartValue } from "../lib/format";

export function LimitBar({ label, used, limit, usedText, limitText }: {
  label: string; used: string; limit: string | null; usedText: string; limitText: string | null;
}) {
  if (limit === null) {
    return (
      <div className="limit-bar">
        <div className="limit-bar-label"><span>{label}</span><span data-testid={`usage-${label}`}>{usedText}</span></div>
        <div className="muted small">No limit on this plan</div>
      </div>
    );
  }
  const ratio = chartValue(limit) > 0 ? chartValue(used) / chartValue(limit) : 1;
  const level = ratio >= 1 ? "over" : ratio >= 0.8 ? "near" : "ok";
  const percent = Math.round(Math.min(ratio, 1) * 100);
  return (
    <div className="limit-bar">
      <div className="limit-bar-label">
        <span>{label}</span>
        <span><span data-testid={`usage-${label}`}>{usedText}</span> of {limitText}</span>
      </div>
      <div className={`bar bar-${level}`} role="meter" aria-label={`${label} against its limit`}
           aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent} aria-valuetext={`${percent}%`}>
        <div className="bar-fill" style={{ width: `${percent}%` }} />
      </div>
    </div>
  );
}
