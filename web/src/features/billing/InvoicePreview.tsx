// The open period's invoice so far, rated by the code that rates the final one, with the
// watermark up to which it is final: events accepted after it may still add to it.
import { useQuery } from "@tanstack/react-query";
import { Card } from "../../components/Card";
import { Empty, QueryView } from "../../components/States";
import { api, ApiError, type Schemas } from "../../lib/api";
import { formatDate, formatInstant, formatMinor } from "../../lib/format";
import { InvoiceLines } from "./InvoiceLines";

type Preview = Schemas["InvoicePreviewPublic"];

export function usePreview() {
  return useQuery({
    queryKey: ["invoice-preview"], refetchInterval: 30_000,
    // No subscription: nothing to preview, a state of the tenant rather than an error.
    queryFn: () => api<Preview>("/v1/invoices/preview").catch((error) => {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }),
  });
}

export function InvoicePreview({ locale, className }: { locale: string; className?: string }) {
  const preview = usePreview();
  return (
    <Card title="Invoice so far" className={className}>
      <QueryView query={preview} what="the running invoice">
        {(invoice) => invoice === null ? <Empty title="No invoice running">A subscription starts one.</Empty> : (
          <>
            <p className="preview-total">
              <span className="big" data-testid="preview-total">{formatMinor(invoice.total_minor, invoice.currency, locale)}</span>
              <span className="muted small"> so far for {formatDate(invoice.period_start, "UTC", locale)} – {
                formatDate(new Date(new Date(invoice.period_end).getTime() - 1).toISOString(), "UTC", locale)} (invoice {invoice.number})</span>
            </p>
            <p className="small" data-testid="final-up-to">
              {invoice.final_up_to
                ? <>Final up to <strong>{formatInstant(invoice.final_up_to, "UTC", locale, true)} UTC</strong>: every event accepted until then is in.</>
                : <>Not yet final for any time: no usage has been counted this period.</>}
              <span className="muted"> Rated {formatInstant(invoice.as_of, "UTC", locale, true)} UTC.</span>
            </p>
            <details>
              <summary>Lines</summary>
              <InvoiceLines number={invoice.number} lines={invoice.lines} currency={invoice.currency} locale={locale} drill={false} />
            </details>
          </>
        )}
      </QueryView>
    </Card>
  );
}
