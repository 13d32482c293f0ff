-- The sites each client may reach, as a JSON array of merchant ids (["*"]: every site). Clients
-- registered before grants existed get none until an operator grants them (`eps client grant`).
ALTER TABLE clients ADD COLUMN sites TEXT NOT NULL DEFAULT '[]';
