// Chart colours with at least 3:1 contrast against the white card background.
export const PALETTE = ["#2563eb", "#c2410c", "#047857", "#7c3aed", "#b91c1c", "#0e7490", "#a16207", "#be185d"];
