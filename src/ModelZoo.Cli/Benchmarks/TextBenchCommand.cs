using System.CommandLine;
using System.Globalization;
using System.Text;
using ModelZoo.Core.Text;
using ModelZoo.Torch.Benchmarks;

namespace ModelZoo.Cli.Benchmarks;

/// <summary>
/// <c>modelzoo bench text --vocab vocab.txt --texts texts.txt [--config config.json] [--cased] [--max-tokens 128]
/// [--batch 32] [--batches 4] [--rounds 3] [--threads 2]</c>: tokeniser throughput and a BERT training step with
/// batches padded to their longest text against the same batches padded to the maximum length.
/// <c>texts.txt</c> holds one text per line (UTF-8); without <c>--config</c> the model is bert-base-uncased's shape.
/// </summary>
public static class TextBenchCommand
{
    public static Command Create()
    {
        var vocab = new Option<FileInfo>("--vocab") { Description = "WordPiece vocab.txt.", Required = true };
        var texts = new Option<FileInfo>("--texts") { Description = "UTF-8 file, one text per line.", Required = true };
        var config = new Option<FileInfo?>("--config") { Description = "transformers config.json (default: bert-base-uncased)." };
        var cased = new Option<bool>("--cased") { Description = "Keep case and accents (default: uncased)." };
        var maxTokens = new Option<int>("--max-tokens") { DefaultValueFactory = _ => 128 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 32 };
        var batches = new Option<int>("--batches") { Description = "Batches timed per round.", DefaultValueFactory = _ => 4 };
        var rounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("text", "Tokeniser throughput and BERT step time, padded to the batch's longest text vs to the maximum length.")
        {
            vocab, texts, config, cased, maxTokens, batch, batches, rounds, threads,
        };
        command.SetAction(r =>
        {
            var o = r.InvocationConfiguration.Output;
            var e = r.InvocationConfiguration.Error;
            WordPieceTokenizer tok;
            List<string> lines;
            string? configJson;
            try
            {
                var uncased = !r.GetValue(cased);
                tok = WordPieceTokenizer.FromVocabFile(r.GetValue(vocab)!.FullName, uncased);
                var textFile = r.GetValue(texts)!;
                if (!textFile.Exists) { e.WriteLine($"error: {textFile.FullName}: the texts file does not exist."); return ExitCodes.BadInput; }
                lines = File.ReadAllLines(textFile.FullName, new UTF8Encoding(false, true)).Where(l => !string.IsNullOrWhiteSpace(l)).ToList();
                var c = r.GetValue(config);
                if (c is { Exists: false }) { e.WriteLine($"error: {c.FullName}: the config file does not exist."); return ExitCodes.BadInput; }
                configJson = c is null ? null : File.ReadAllText(c.FullName);
            }
            catch (VocabularyException ex) { e.WriteLine($"error: {ex.Message}"); return ExitCodes.BadInput; }
            catch (DecoderFallbackException ex) { e.WriteLine($"error: {r.GetValue(texts)!.FullName}: not UTF-8 text ({ex.Message})."); return ExitCodes.BadInput; }

            var spec = new TextBenchSpec(r.GetValue(maxTokens), r.GetValue(batch), r.GetValue(batches), r.GetValue(rounds), r.GetValue(threads));
            TextBenchResult res;
            try { res = TextBenchmark.Run(tok, lines, configJson, spec); }
            catch (Exception ex) when (ex is ArgumentException or FormatException) { e.WriteLine($"error: {ex.Message}"); return ExitCodes.BadInput; }

            var inv = CultureInfo.InvariantCulture;
            o.WriteLine($"{res.Texts} texts, {res.Pieces} pieces, vocab {tok.VocabSize}, BERT {res.Parameters:N0} parameters, batch {spec.Batch}, " +
                        $"{spec.Rounds} rounds x {Math.Min(spec.Batches, res.Texts / spec.Batch)} batches, {spec.Threads} threads, {Environment.ProcessorCount} cores, " +
                        ModelZoo.Torch.Native.TorchRuntime.SoftwareVersions);
            o.WriteLine();
            o.WriteLine("| measure | value |");
            o.WriteLine("| --- | --- |");
            o.WriteLine(string.Create(inv, $"| tokenise, texts/s | {res.Texts / (res.TokeniseMs / 1000):F0} |"));
            o.WriteLine(string.Create(inv, $"| tokenise, pieces/s | {res.Pieces / (res.TokeniseMs / 1000):F0} |"));
            o.WriteLine(string.Create(inv, $"| mean batch length, padded to longest | {res.MeanLongestLength:F1} |"));
            o.WriteLine(string.Create(inv, $"| batch length, padded to max | {res.MaxLength} |"));
            o.WriteLine(string.Create(inv, $"| train step median ms, longest | {res.LongestStepMs:F1} |"));
            o.WriteLine(string.Create(inv, $"| train step median ms, max length | {res.MaxLengthStepMs:F1} |"));
            o.WriteLine(string.Create(inv, $"| ratio longest / max | {res.LongestStepMs / res.MaxLengthStepMs:F3} |"));
            return ExitCodes.Ok;
        });
        return command;
    }
}
