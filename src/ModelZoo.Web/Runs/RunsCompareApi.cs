using System.Text;
using ModelZoo.Core.Runs.Compare;
using ModelZoo.Infrastructure.Runs.Compare;

namespace ModelZoo.Web.Runs;

/// <summary><c>GET /api/runs/compare</c>: the compare page's table as JSON, CSV or Markdown.</summary>
public static class RunsCompareApi
{
    public static IEndpointRouteBuilder MapRunsCompareApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/runs/compare", async (RunCompareService compare, CancellationToken ct, string? ids = null, string? format = null, bool curves = false) =>
            {
                var parsed = CompareIds.Parse(ids);
                if (!parsed.Ok) return Results.Problem(parsed.Error, statusCode: StatusCodes.Status400BadRequest, title: "The comparison cannot be made.");
                var kind = (format ?? "json").ToLowerInvariant();
                if (kind is not ("json" or "csv" or "md" or "markdown"))
                    return Results.Problem($"Unknown format '{format}': use json, csv or md.", statusCode: StatusCodes.Status400BadRequest, title: "The comparison cannot be made.");
                var runs = await compare.LoadAsync(parsed.Ids, ct);
                // A table that silently lacks a row asked for reads as complete: name the ids that are not runs instead.
                if (runs.Missing.Count > 0)
                    return Results.Problem($"No run has the id {string.Join(", ", runs.Missing)}.", statusCode: StatusCodes.Status404NotFound, title: "Unknown runs.");
                var table = runs.Table();
                var stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss");
                return kind switch
                {
                    "csv" => Results.File(Encoding.UTF8.GetBytes(ComparisonExport.Csv(table)), "text/csv; charset=utf-8", $"runs-compare-{stamp}.csv"),
                    "md" or "markdown" => Results.File(Encoding.UTF8.GetBytes(ComparisonExport.Markdown(table)), "text/markdown; charset=utf-8", $"runs-compare-{stamp}.md"),
                    _ when curves => Results.Ok(new ComparisonWithCurves(table, runs.Runs.Select(r => RunCurvesView.Of(r.Run.Id, r.Curves)).ToList())),
                    _ => Results.Ok(table),
                };
            })
            .WithTags("Runs").WithName("CompareRuns").WithSummary("Compare runs: best and last value per metric, epoch of the best, wall time, parameters, strategy, budget, seed")
            .WithDescription("ids: comma-separated run ids (at most 50). format: json (default), csv or md (a file download). curves=true (json): " +
                             "also every run's recorded curves, per step and per epoch, each point with step, epoch, elapsed seconds and value. 400 for a malformed or " +
                             "too long list, 404 naming the ids that are not runs. Running runs are compared as far as they have got.");
        return app;
    }

    /// <summary>The table and the curves of several runs in one call, for scripts that draw their own charts.</summary>
    public sealed record ComparisonWithCurves(RunComparison Table, IReadOnlyList<RunCurvesView> Curves);

    /// <summary>One run's curves by metric name.</summary>
    public sealed record RunCurvesView(Guid Id, IReadOnlyDictionary<string, IReadOnlyList<CurvePoint>> PerStep, IReadOnlyDictionary<string, IReadOnlyList<CurvePoint>> PerEpoch)
    {
        public static RunCurvesView Of(Guid id, RunCurves c) => new(id,
            c.StepNames.ToDictionary(n => n, c.StepSeries), c.EpochNames.ToDictionary(n => n, c.EpochSeries));
    }
}
