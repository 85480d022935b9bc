"""RDKit descriptors per molecule, for `shoal run python` over a .smi file.

    shoal run python --fn examples/python/descriptors.py:descriptors \
        --inputs examples/python/drugs.smi --out shoal-out/descriptors.jsonl

Each record of a .smi file arrives as {"smiles": ..., "name": ...}. What the function returns
is the row's value; a SMILES RDKit cannot parse raises, which is that row's error (the rest of
the job goes on).
"""
from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors, Lipinski, rdMolDescriptors


def descriptors(record, params):
    mol = Chem.MolFromSmiles(record["smiles"])
    if mol is None:
        raise ValueError(f"RDKit cannot parse the SMILES of {record['name']}: {record['smiles']}")
    return {
        "name": record["name"],
        "heavy_atoms": mol.GetNumHeavyAtoms(),
        "mol_wt": round(Descriptors.MolWt(mol), 4),
        "logp": round(Crippen.MolLogP(mol), 4),
        "tpsa": round(rdMolDescriptors.CalcTPSA(mol), 4),
        "hbd": Lipinski.NumHDonors(mol),
        "hba": Lipinski.NumHAcceptors(mol),
        "rotatable_bonds": rdMolDescriptors.CalcNumRotatableBonds(mol),
        "rings": rdMolDescriptors.CalcNumRings(mol),
    }
