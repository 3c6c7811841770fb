// An invoice's lines (issued or the running preview); on an issued invoice each usage line
// opens down to its windows and events.
import { Fragment, useState } from "react";
import { type Schemas } from "../../lib/api";
import { formatMinor, formatQuantity, formatUnitPrice } from "../../lib/format";
import { LineWindows } from "./LineDrill";

type Line = Schemas["InvoiceLinePublic"];

export function InvoiceLines({ number, lines, currency, locale, drill }: {
  number: string; lines: Line[]; currency: string; locale: string; drill: boolean;
}) {
  const [open, setOpen] = useState<number | null>(null);
  // The preview's lines are told apart from an issued invoice's on the same page.
  const testId = (name: string) => (drill ? name : `preview-${name}`);
  return (
    <table className="inner" data-testid={testId(`lines-of-${number}`)}>
      <thead><tr><th scope="col">Line</th><th scope="col" className="num">Quantity</th>
        <th scope="col" className="num">Unit price</th><th scope="col" className="num">Amount</th></tr></thead>
      <tbody>
        {lines.map((line) => {
          const drillable = drill && line.kind === "usage" && line.meter_slug !== null;
          return (
            <Fragment key={line.position}>
              <tr>
                <td>{drillable ? (
                  <button type="button" className="link" aria-expanded={open === line.position}
                          onClick={() => setOpen(open === line.position ? null : line.position)}>
                    {open === line.position ? "▾" : "▸"} {line.description}</button>
                ) : line.description}{line.tier && <span className="muted"> ({line.tier})</span>}</td>
                <td className="num" data-testid={testId("line-quantity")}>{formatQuantity(line.quantity, locale)}</td>
                <td className="num">{line.unit_price ? formatUnitPrice(line.unit_price, currency, locale) : "–"}</td>
                <td className="num" data-testid={testId("line-amount")}>{formatMinor(line.amount_minor, currency, locale)}</td>
              </tr>
              {open === line.position && (
                <tr className="expanded"><td colSpan={4}><LineWindows number={number} line={line} locale={locale} /></td></tr>
              )}
            </Fragment>
          );
        })}
      </tbody>
    </table>
  );
}
