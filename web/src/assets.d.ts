declare module "*.policy" { const text: string; export default text; }
declare module "*/paused-zero-credits.json" { const text: string; export default text; }
