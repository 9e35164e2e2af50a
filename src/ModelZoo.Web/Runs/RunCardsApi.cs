using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using ModelZoo.Core.Cards;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Infrastructure.Runs.Cards;
using ModelZoo.Web.Accounts;

namespace ModelZoo.Web.Runs;

/// <summary>A run's model card: read (any saved version), write its person-written sections, download as a folder.</summary>
public static class RunCardsApi
{
    /// <summary>The editor's request: the two sections and the version they were edited from.</summary>
    public sealed record CardSectionsRequest(string? IntendedUse, string? EthicalConsiderations, int BaseVersion);

    public static IEndpointRouteBuilder MapRunCardsApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/runs/{id:guid}/card").WithTags("Cards");

        g.MapGet("/", async Task<Results<Ok<CardView>, NotFound>> (Guid id, CardService cards, CancellationToken ct, int? version = null) =>
                await cards.GetAsync(id, version, ct) is { } card ? TypedResults.Ok(card) : TypedResults.NotFound())
            .WithName("GetRunCard").WithSummary("The run's model card as people read it, with its versions")
            .WithDescription("markdown: the generated card with the person-written sections (intended use, ethical considerations) of `version` " +
                             "(default: the latest; 0 = none written, shown as marked placeholders). 404 when the run does not exist, has no card " +
                             "(it has not succeeded) or has no such version.");

        g.MapPut("/sections", async Task<IResult> (Guid id, CardSectionsRequest body, CardService cards, RunService runs, ClaimsPrincipal user, CancellationToken ct) =>
            {
                if (await runs.GetAsync(id, ct) is { } run && !Ownership.MayManage(user, run.OwnerId)) return TypedResults.Forbid();
                var result = await cards.SaveAsync(id, new CardAuthorText(body.IntendedUse, body.EthicalConsiderations), body.BaseVersion,
                    savedBy: user.AccountId() is null ? null : user.Identity?.Name, ct);
                return result.Status switch
                {
                    CardSaveStatus.Saved or CardSaveStatus.Unchanged => TypedResults.Ok(result.Card),
                    CardSaveStatus.Invalid => TypedResults.ValidationProblem(result.Errors.ToDictionary(e => e.Key, e => new[] { e.Value }), title: result.Message),
                    CardSaveStatus.NotFound => TypedResults.Problem(result.Message, statusCode: StatusCodes.Status404NotFound, title: "No such run."),
                    _ => TypedResults.Problem(result.Message, statusCode: StatusCodes.Status409Conflict, title: "The card's text was not saved."),
                };
            })
            .RequireAuthorization(ZooPolicies.Analyst)
            .WithName("SaveRunCardSections").WithSummary("Save the person-written sections of a run's card as a new version")
            .WithDescription("Body: intendedUse, ethicalConsiderations (Markdown, at most 20,000 characters each, no level-1 or level-2 headings) and " +
                             "baseVersion, the version the text was edited from (0 for the first). Adds a version and returns the card; the same text " +
                             "as the latest version adds none. 400 with errors by field; 404 for an unknown run; 409 when the run has no card yet, or " +
                             "when a newer version was saved since baseVersion (reload and save on top of it). The generated sections cannot be edited.");

        app.MapGet("/api/runs/{id:guid}/card.zip", async Task<Results<FileContentHttpResult, NotFound>> (Guid id, CardService cards, CancellationToken ct) =>
                await cards.ZipAsync(id, ct) is { } zip ? TypedResults.File(zip, "application/zip", $"model-card-{id:N}.zip") : TypedResults.NotFound())
            .WithTags("Cards").WithName("DownloadRunCardZip").WithSummary("The card as a folder: README.md, metadata.yaml (the front matter) and images/curves.png");
        app.MapGet("/api/cards/diff", async Task<IResult> (CardService cards, CancellationToken ct, Guid? a = null, Guid? b = null, int? av = null, int? bv = null) =>
            {
                if (a is null || b is null)
                    return TypedResults.Problem("Name both cards: a and b are run ids (av and bv optional versions; the latest when left out).",
                        statusCode: StatusCodes.Status400BadRequest, title: "The cards cannot be compared.");
                var (diff, problem) = await cards.DiffAsync(a.Value, av, b.Value, bv, ct);
                return diff is null ? TypedResults.Problem(problem, statusCode: StatusCodes.Status404NotFound, title: "No such card.") : TypedResults.Ok(diff);
            })
            .WithTags("Cards").WithName("DiffCards").WithSummary("Two cards compared section by section")
            .WithDescription("a, b: run ids; av, bv: versions of their person-written sections (default the latest; 0 = none). The same run with two " +
                             "versions compares an edit. Each section: heading, change (same, changed, added, removed), both texts and the line diff. " +
                             "400 without a or b, 404 naming the side that has no such card.");
        return app;
    }
}
