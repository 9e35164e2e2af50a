using System.IO.Compression;
using System.Text;
using Microsoft.EntityFrameworkCore;
using ModelZoo.Core.Cards;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Persistence;

namespace ModelZoo.Infrastructure.Runs.Cards;

/// <summary>One saved version of a card's person-written sections.</summary>
public sealed record CardVersionInfo(int Version, DateTimeOffset SavedAt, string? SavedBy);

/// <summary>A run's card as people read it: the generated card with the person-written sections of one version
/// (the latest unless another was asked for; 0 = none written yet).</summary>
public sealed record CardView(Guid RunId, string Markdown, int Version, int LatestVersion, CardAuthorText Author, IReadOnlyList<CardVersionInfo> Versions);

/// <summary>Which card a side of a diff is: the run, its name, the version shown and the latest.</summary>
public sealed record CardSide(Guid RunId, string? RunName, int Version, int LatestVersion);

public sealed record CardDiffView(CardSide A, CardSide B, IReadOnlyList<SectionDiff> Sections);

public enum CardSaveStatus { Saved, Unchanged, NotFound, NoCard, Invalid, Conflict }

/// <param name="Errors">By field, for <see cref="CardSaveStatus.Invalid"/>.</param>
/// <param name="Message">Why, for every outcome but a save.</param>
public sealed record CardSave(CardSaveStatus Status, CardView? Card, IReadOnlyDictionary<string, string> Errors, string? Message);

/// <summary>
/// The card editor's store. A save adds a version (never overwrites one) and must name the version it was edited
/// from: a save based on an older version is refused as a conflict, so two reviewers editing at once cannot silently
/// overwrite each other. The unique (run, version) index settles a race between two saves on the same version.
/// </summary>
public sealed class CardService(IDbContextFactory<ZooDbContext> dbs, RunService runs, Experiments.ExperimentService experiments, TimeProvider clock,
    RunOutputs outputs)
{
    /// <summary>Null when the run does not exist or has no card (it has not succeeded); <paramref name="version"/> out
    /// of range also gives null.</summary>
    public async Task<CardView?> GetAsync(Guid runId, int? version = null, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var generated = await db.Runs.AsNoTracking().Where(r => r.Id == runId).Select(r => r.CardMarkdown).FirstOrDefaultAsync(ct);
        if (generated is null) return null;
        var versions = await db.CardVersions.AsNoTracking().Where(v => v.RunId == runId).OrderBy(v => v.Version).ToListAsync(ct);
        var latest = versions.Count == 0 ? 0 : versions[^1].Version;
        var chosen = version ?? latest;
        CardVersionRecord? row = null;
        if (chosen != 0 && (row = versions.FirstOrDefault(v => v.Version == chosen)) is null) return null;
        var author = row is null ? CardAuthorText.Empty : new CardAuthorText(row.IntendedUse, row.EthicalConsiderations);
        // Quantitative sections generated now, from what is stored: the seeds of the run's cell, its compressions.
        var analyses = string.Join("\n", new[] { await SeedAnalysisOfAsync(runId, ct), CompressionSection.Of(Compression.RunCompressions.Stored(outputs.DirOf(runId))) }
            .Where(s => s is not null).Select(s => s!.TrimEnd('\n') + "\n"));
        return new CardView(runId, CardComposer.Compose(generated, author, analyses.Length == 0 ? null : analyses), chosen, latest, author,
            versions.Select(v => new CardVersionInfo(v.Version, v.SavedAt, v.SavedBy)).ToList());
    }

    /// <summary>The run's experiment cell over its succeeded seeds (<see cref="SeedAnalysis"/>), or null when the run is
    /// not in a grid or its cell has fewer than two succeeded seeds.</summary>
    internal async Task<string?> SeedAnalysisOfAsync(Guid runId, CancellationToken ct)
    {
        if (await runs.GetAsync(runId, ct) is not { ExperimentId: { } experimentId }) return null;
        if (await experiments.GetAsync(experimentId, ct) is not { Grid: { } grid } view) return null;
        var cell = grid.Cells.SelectMany(r => r).FirstOrDefault(c => c.Runs.Any(x => x.Id == runId));
        if (cell is null) return null;
        var byId = view.Runs.ToDictionary(r => r.Id);
        var results = cell.Runs
            .Where(x => x.Status == RunStatus.Succeeded && byId.TryGetValue(x.Id, out var v) && v.Result is not null)
            .Select(x => (x.Seed, byId[x.Id].Result!)).ToList();
        var label = $"{cell.ModelId} × {grid.Columns[cell.Column].Label}";
        return SeedAnalysis.Section(label, results);
    }

    public async Task<CardSave> SaveAsync(Guid runId, CardAuthorText text, int baseVersion, string? savedBy = null, CancellationToken ct = default)
    {
        var clean = text.Normalised();
        var errors = clean.Validate();
        if (errors.Count > 0) return new CardSave(CardSaveStatus.Invalid, null, errors, "The card's text was not saved.");

        await using var db = await dbs.CreateDbContextAsync(ct);
        var run = await db.Runs.AsNoTracking().Where(r => r.Id == runId).Select(r => new { r.Status, HasCard = r.CardMarkdown != null }).FirstOrDefaultAsync(ct);
        if (run is null) return new CardSave(CardSaveStatus.NotFound, null, Empty, $"There is no run {runId}.");
        if (!run.HasCard) return new CardSave(CardSaveStatus.NoCard, null, Empty, $"The run is {run.Status.ToString().ToLowerInvariant()}; only a succeeded run has a card to write in.");

        var latest = await db.CardVersions.AsNoTracking().Where(v => v.RunId == runId).OrderByDescending(v => v.Version).FirstOrDefaultAsync(ct);
        var latestVersion = latest?.Version ?? 0;
        if (baseVersion != latestVersion)
            return new CardSave(CardSaveStatus.Conflict, await GetAsync(runId, null, ct), Empty,
                $"The card was edited from version {baseVersion}, but version {latestVersion} has been saved since. Reload it, and save your text on top of it.");
        if (latest is not null ? latest.IntendedUse == clean.IntendedUse && latest.EthicalConsiderations == clean.EthicalConsiderations : clean.IsEmpty)
            return new CardSave(CardSaveStatus.Unchanged, await GetAsync(runId, null, ct), Empty, "Nothing changed, so no new version was saved.");

        db.CardVersions.Add(new CardVersionRecord
        {
            RunId = runId, Version = latestVersion + 1, IntendedUse = clean.IntendedUse, EthicalConsiderations = clean.EthicalConsiderations,
            SavedAt = clock.GetUtcNow(), SavedBy = savedBy,
        });
        try { await db.SaveChangesAsync(ct); }
        catch (DbUpdateException)
        {
            // Another save took this version number between our read and write.
            return new CardSave(CardSaveStatus.Conflict, await GetAsync(runId, null, ct), Empty,
                $"Someone saved version {latestVersion + 1} at the same moment. Reload the card, and save your text on top of it.");
        }
        return new CardSave(CardSaveStatus.Saved, await GetAsync(runId, null, ct), Empty, null);
    }

    /// <summary>Two cards section by section: two runs' cards, or two versions of one (null version = latest). The
    /// problem names the side that has no such card.</summary>
    public async Task<(CardDiffView? Diff, string? Problem)> DiffAsync(Guid a, int? versionA, Guid b, int? versionB, CancellationToken ct = default)
    {
        var left = await GetAsync(a, versionA, ct);
        if (left is null) return (null, Missing("A", a, versionA));
        var right = await GetAsync(b, versionB, ct);
        if (right is null) return (null, Missing("B", b, versionB));
        var names = await runs.GetAsync(a, ct) is { } ra && await runs.GetAsync(b, ct) is { } rb ? (ra.Name, rb.Name) : (null, null);
        return (new CardDiffView(new CardSide(a, names.Item1, left.Version, left.LatestVersion), new CardSide(b, names.Item2, right.Version, right.LatestVersion),
            CardDiff.Compare(left.Markdown, right.Markdown)), null);

        static string Missing(string side, Guid id, int? version) =>
            $"Card {side}: run {id} has no card{(version is { } v ? $" version {v}" : "")} (it does not exist, has not succeeded, or has no such version).";
    }

    /// <summary>
    /// The card as a folder a person can publish (a Hugging Face repository's README.md reads the same): README.md, the
    /// front matter alone as metadata.yaml, and the training curves as images/curves.png, which the README links.
    /// Null when the run has no card.
    /// </summary>
    public async Task<byte[]?> ZipAsync(Guid runId, CancellationToken ct = default)
    {
        if (await GetAsync(runId, null, ct) is not { } card) return null;
        var epochs = new Dictionary<string, IReadOnlyList<MetricPoint>>();
        foreach (var name in new[] { MetricNames.TrainLoss, MetricNames.ValLoss, MetricNames.TrainAccuracy, MetricNames.ValAccuracy })
            epochs[name] = (await runs.MetricAsync(runId, name, ct)).Where(p => p.Step is null).ToList();
        var png = CardImages.Curves(epochs);

        var readme = card.Markdown;
        if (png is not null)
            readme = readme.TrimEnd('\n') + "\n\n## Training curves\n\n![Loss and accuracy per epoch, training and validation](images/curves.png)\n";
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            Add(zip, "README.md", Encoding.UTF8.GetBytes(readme));
            if (FrontMatterOf(card.Markdown) is { } yaml) Add(zip, "metadata.yaml", Encoding.UTF8.GetBytes(yaml));
            if (png is not null) Add(zip, "images/curves.png", png);
        }
        return buffer.ToArray();
    }

    /// <summary>The YAML between the card's opening <c>---</c> lines, or null.</summary>
    internal static string? FrontMatterOf(string markdown)
    {
        var text = markdown.Replace("\r\n", "\n");
        if (!text.StartsWith("---\n", StringComparison.Ordinal)) return null;
        var end = text.IndexOf("\n---\n", 3, StringComparison.Ordinal);
        return end < 0 ? null : text[4..(end + 1)];
    }

    static void Add(ZipArchive zip, string name, byte[] bytes)
    {
        using var s = zip.CreateEntry(name, CompressionLevel.Optimal).Open();
        s.Write(bytes);
    }

    static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();
}
