using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Web.Errors;

/// <summary>
/// Turns an exception on an API path into problem details: a request the API could not read (bad JSON, wrong
/// content type, a missing or malformed parameter) becomes its 4xx with what was wrong and where; a storage fault
/// (<see cref="StorageFault"/>: disk full, database locked or read-only) a 507 or 503 naming the file; anything else a 500
/// with a plain sentence and the request id, the exception itself going to the log only. Other paths are left to the
/// /error page.
/// </summary>
sealed class ApiExceptionHandler(IProblemDetailsService problems, ZooPaths paths, ILogger<ApiExceptionHandler> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        // With a re-execution path configured, Request.Path already says /error here; the feature keeps the original.
        var path = http.Features.Get<IExceptionHandlerPathFeature>()?.Path is { } original ? new PathString(original) : http.Request.Path;
        if (!path.StartsWithSegments("/api") || http.Response.HasStarted) return false;

        ProblemDetails problem;
        if (exception is BadHttpRequestException bad)
        {
            // Already logged by the framework at debug level; what the caller sent is not the server's fault.
            problem = new ProblemDetails
            {
                Status = bad.StatusCode,
                Title = BadRequestText.Title(bad.StatusCode),
                Detail = BadRequestText.Describe(bad, http.Request.Method, path),
            };
        }
        else if (StorageFault.Of(exception, paths) is { } fault)
        {
            // The machine's storage, not the request, failed: say which file and what to do, and that it is temporary.
            log.LogError(exception, "Storage fault on {Method} {Path} (request {RequestId}): {Fault}",
                http.Request.Method, path, ErrorsSetup.RequestId(http), fault.Message);
            problem = new ProblemDetails
            {
                Status = fault.Kind == StorageFaultKind.DiskFull ? StatusCodes.Status507InsufficientStorage : StatusCodes.Status503ServiceUnavailable,
                Title = fault.Kind == StorageFaultKind.DiskFull ? "The server's disk is full; nothing was stored." : "The database cannot be written; nothing was stored.",
                Detail = fault.Message,
            };
        }
        else
        {
            log.LogError(exception, "Unhandled error on {Method} {Path} (request {RequestId})",
                http.Request.Method, path, ErrorsSetup.RequestId(http));
            problem = new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Title = "The server failed to answer this request.",
                Detail = $"Something went wrong on the server while answering {http.Request.Method} {path}; nothing "
                    + $"about it is shown here. Quote the request id {ErrorsSetup.RequestId(http)} when you report it: the portal's log "
                    + "holds the details under it.",
            };
        }
        http.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem });
    }
}
