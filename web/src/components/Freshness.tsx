// How current the usage on screen is: every event accepted before the watermark is counted.
import { formatAge, formatInstant } from "../lib/format";

const STALE_AFTER_S = 120;

export function Freshness({ watermark, timeZone, locale, now = new Date() }: {
  watermark: string | null | undefined; timeZone: string; locale: string; now?: Date;
}) {
  if (!watermark) {
    return <span className="freshness freshness-unknown" role="status">Freshness unknown: the pipeline did not say how current this is</span>;
  }
  const age = (now.getTime() - new Date(watermark).getTime()) / 1000;
  const stale = age > STALE_AFTER_S;
  return (
    <span className={`freshness ${stale ? "freshness-stale" : "freshness-live"}`} role="status"
          title={`Every event accepted before ${formatInstant(watermark, timeZone, locale, true)} is counted`}>
      <span className="dot" aria-hidden="true" />
      {stale ? "Behind: counted up to " : "Live: counted up to "}{formatAge(watermark, now, locale)}
    </span>
  );
}
