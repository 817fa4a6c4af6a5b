"""The REST API of the previous system, declared once: the routes and /api/openapi.json both come from here."""

from __future__ import annotations

from gateway.rest import handlers, models
from gateway.rest.api import RestRoute
from schema import agent, rag

JOB_ERRORS = {"NOT_FOUND": (404, "Ingestion job not found.")}  # unknown, or someone else's (admins excepted)
SESSION_ERRORS = {"NOT_FOUND": (404, "Session not found")}  # unknown, or someone else's
LOGIN_ERRORS = {"UNAUTHENTICATED": (401, "Invalid credentials!")}
REGISTER_ERRORS = {"CONFLICT": (400, "Username already exists!")}

ROUTES: tuple[RestRoute, ...] = (
    RestRoute("POST", "/auth/register", "register", "Create a user account.",
              "mutation register(input: {username, password})", "auth", handlers.register,
              models.MessageResponse, body=models.RegisterRequest, status=201, errors=REGISTER_ERRORS),
    RestRoute("POST", "/auth/login", "login", "Sign in; the token goes in 'Authorization: Bearer <token>'.",
              "mutation login(input: {username, password}) { accessToken }", "auth", handlers.login,
              models.LoginResponse, body=models.LoginRequest, errors=LOGIN_ERRORS),
    RestRoute("POST", "/auth/validate", "validate", "Whether the token is valid, and whose it is.",
              "query me { id role permissions }", "auth", handlers.validate, models.ValidateResponse, token=True),
    RestRoute("POST", "/api/auth/validate", "api_validate", "Same as /auth/validate.",
              "query me { id role permissions }", "auth", handlers.validate, models.ValidateResponse, token=True),
    RestRoute("POST", "/api/agent/query", "agent_query", "Ask the agent and wait for its answer.",
              "mutation runAgent(input: {message}) { answer steps }", "agent", handlers.agent_query,
              models.AgentQueryResponse, permission=agent.START_RUN.permission, body=models.AgentQueryRequest,
              cost="runAgent"),
    RestRoute("POST", "/api/rag/query", "rag_query", "An answer from my documents, with the passages it cites.",
              "query ask(question) { answer citations }", "rag", handlers.rag_query, models.RagQueryResponse,
              permission=rag.ASK.permission, body=models.RagQueryRequest, cost="ask"),
    RestRoute("POST", "/api/rag/retrieve", "retrieve", "Passages of my documents for a query (hybrid search).",
              "query search(query, topK) { content score title documentId }", "rag", handlers.retrieve,
              models.DocumentsResponse, permission=rag.SEARCH.permission, body=models.RetrieveRequest, cost="search"),
    RestRoute("POST", "/api/rag/lookup", "lookup", "Passages matching the query's words (keyword search).",
              "query search(query, mode: KEYWORD) { content score title }", "rag", handlers.lookup,
              models.DocumentsResponse, permission=rag.SEARCH.permission, body=models.LookupRequest, cost="search"),
    RestRoute("POST", "/api/rag/ingest", "ingest",
              "Ingest files from the server's import directory (AGENTHUB_IMPORT_DIR); answers when done.",
              "mutation uploadDocuments(files) (the client sends the files)", "rag", handlers.ingest,
              models.MessageResponse, permission=rag.UPLOAD.permission, body=models.IngestRequest,
              cost="uploadDocuments"),
    RestRoute("POST", "/api/rag/upload", "upload", "Upload up to 10 files; answers when their ingestion ends.",
              "mutation uploadDocuments(files) { job { id } }, then query ingestionJob(id)", "rag",
              handlers.upload, models.UploadResponse, permission=rag.UPLOAD.permission, multipart=True,
              cost="uploadDocuments"),
    RestRoute("POST", "/api/rag/upload_with_progress", "upload_with_progress",
              "Upload up to 10 files; answers at once with a session to poll.",
              "mutation uploadDocuments(files) { job { id } }", "rag", handlers.upload_with_progress,
              models.UploadStarted, permission=rag.UPLOAD.permission, multipart=True,
              cost="uploadDocuments"),
    RestRoute("GET", "/api/rag/upload_progress/{session_id}", "upload_progress",
              "Progress of one of my upload sessions.",
              "subscription ingestionProgress(jobId) (one per file)", "rag", handlers.upload_progress,
              models.UploadProgress, permission=rag.UPLOAD.permission,  # the session of an upload
              errors=SESSION_ERRORS),
    RestRoute("POST", "/api/rag/cancel_upload/{session_id}", "cancel_upload",
              "Cancel every file of one of my upload sessions still being ingested; answers its progress.",
              "mutation cancelIngestionJob(id) (one per file)", "rag", handlers.cancel_upload,
              models.UploadProgress, permission=rag.CANCEL_JOB.permission, errors=SESSION_ERRORS),
    RestRoute("GET", "/api/rag/jobs/{job_id}", "ingestion_job", rag.JOB.doc,
              "query ingestionJob(id) { status progress error }", "rag", handlers.ingestion_job, rag.Job,
              permission=rag.JOB.permission, errors=JOB_ERRORS),
    RestRoute("POST", "/api/rag/jobs/{job_id}/cancel", "cancel_ingestion_job", rag.CANCEL_JOB.doc,
              "mutation cancelIngestionJob(id) { status }", "rag", handlers.cancel_ingestion_job, rag.Job,
              permission=rag.CANCEL_JOB.permission, errors=JOB_ERRORS),
    RestRoute("POST", "/api/rag/clear", "clear", "Delete all my own documents (never anyone else's).",
              "mutation deleteDocument(id), for each of my documents", "rag", handlers.clear,
              models.MessageResponse, permission=rag.DELETE_DOCUMENT.permission, body=models.ClearRequest),
    RestRoute("GET", "/health", "health", "Whether the gateway and each service answer.",
              "query health { status services { name status } }", "gateway", handlers.health,
              models.HealthResponse),
    RestRoute("GET", "/api/health", "api_health", "Same as /health.",
              "query health { status services { name status } }", "gateway", handlers.health,
              models.HealthResponse),
)
