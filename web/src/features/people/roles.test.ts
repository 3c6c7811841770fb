import { describe, expect, it } from "vitest";
import { assignableRoles, grants, manages, PERMISSIONS } from "./roles";
import { ROLES } from "../../lib/session";
// The generated document itself, read at test time (Vite's raw import): the two cannot drift apart.
import doc from "../../../../docs/roles.md?raw";

describe("the role table", () => {
  it("says what docs/roles.md (generated from api/permissions.py) says, row by row", () => {
    const rows = doc.split("\n").filter((line) => line.startsWith("| `"));
    const documented = rows.slice(0, PERMISSIONS.length + 1).filter((line) => line.split("|").length === 9);
    expect(documented.map((line) => line.split("|")[1].trim().replace(/`/g, ""))).toEqual(PERMISSIONS.map((p) => p.name));
    for (const line of documented) {
      const cells = line.split("|").map((cell) => cell.trim());
      const permission = PERMISSIONS.find((p) => p.name === cells[1].replace(/`/g, ""))!;
      expect(cells[2]).toBe(permission.meaning);
      expect(cells.slice(3, 8).map((cell) => cell === "yes")).toEqual(ROLES.map((role) => grants(role, permission)));
    }
  });

  it("offers only roles below one's own, never owner", () => {
    expect(assignableRoles("owner")).toEqual(["admin", "manager", "member", "viewer"]);
    expect(assignableRoles("admin")).toEqual(["manager", "member", "viewer"]);
    expect(assignableRoles("viewer")).toEqual([]);
    expect(manages("admin", "admin")).toBe(false);
    expect(manages("owner", "admin")).toBe(true);
  });
});
