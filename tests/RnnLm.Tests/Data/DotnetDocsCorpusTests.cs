using RnnLm.Data;

namespace RnnLm.Tests.Data;

public class DotnetDocsCorpusTests
{
    [Fact]
    public void InstalledReferencePackYieldsCleanSentences()
    {
        var lines = DotnetDocsCorpus.ExtractLines();
        long bytes = lines.Sum(l => System.Text.Encoding.UTF8.GetByteCount(l) + 1L);
        Assert.True(bytes > 100_000, $"only {bytes} bytes");
        Assert.True(lines.Count > 1000, $"only {lines.Count} lines");
        Assert.All(lines, l =>
        {
            Assert.DoesNotContain('<', l);
            Assert.DoesNotContain('\n', l);
            Assert.Equal(l.Trim(), l);
        });
        Assert.Equal(lines.Count, lines.Distinct(StringComparer.Ordinal).Count());
        Assert.Contains(lines, l => l.StartsWith("Represents ", StringComparison.Ordinal));
    }

    [Fact]
    public void ExtractionRules()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("b.xml"), """
            <?xml version="1.0" encoding="utf-8"?>
            <doc><members>
              <member name="T:X.Y"><summary>Converts a <see cref="T:System.Collections.Generic.List`1" /> to a <see cref="M:System.String.Format(System.String,System.Object)" />, or returns <see langword="null" />. Uses   <paramref name="value" />
              as the <c>seed</c>.</summary>
              <param name="value">Not extracted.</param>
              <remarks><para>First paragraph here.</para><code>var x = new List&lt;int&gt;();</code><para>Second paragraph here.</para></remarks>
              </member>
              <member name="T:X.Z"><summary>First paragraph here.</summary></member>
            </members></doc>
            """);
        File.WriteAllText(tmp.File("a.xml"), """
            <doc><members><member name="T:A"><summary>Creates a new instance of the <see cref="M:A.B.#ctor" /> class.</summary></member></members></doc>
            """);
        var lines = DotnetDocsCorpus.ExtractLines(tmp.Path);
        Assert.Equal(
        [
            "Creates a new instance of the B class.",
            "Converts a List to a Format, or returns null.",
            "Uses value as the seed.",
            "First paragraph here.",
            "Second paragraph here.",
        ], lines);
        var text = DotnetDocsCorpus.Extract(tmp.Path);
        Assert.Equal(string.Concat(lines.Select(l => l + "\n")), text);
        var (n, size) = DotnetDocsCorpus.WriteTo(tmp.File("out.txt"), tmp.Path);
        Assert.Equal(5, n);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(text), size);
    }
}
