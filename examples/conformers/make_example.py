#!/usr/bin/python3
"""Builds the conformers example: reference and "generated" ensembles for a dozen drugs.

Run with Debian's python3 (it has RDKit):  /usr/bin/python3 make_example.py
Written with RDKit 2022.09.3.

ref.sdf  plays the reference (GEOM-style): up to 16 ETKDG conformers per drug, pruned at
         0.5 Å RMSD, refined with MMFF94, written with explicit hydrogens.
gen.sdf  plays a generative model's output: unrefined ETKDG conformers from another random
         seed, written without hydrogens, records in no particular order.
Records are keyed by their title line (the drug's name).
"""
import os
import random

from rdkit import Chem, rdBase
from rdkit.Chem import AllChem

HERE = os.path.dirname(os.path.abspath(__file__))
N_REF = 16
N_GEN = 20

DRUGS = [
    ('ibuprofen', 'CC(C)Cc1ccc(cc1)C(C)C(=O)O'),
    ('naproxen', 'COc1ccc2cc(ccc2c1)C(C)C(=O)O'),
    ('diclofenac', 'OC(=O)Cc1ccccc1Nc1c(Cl)cccc1Cl'),
    ('celecoxib', 'Cc1ccc(cc1)-c1cc(nn1-c1ccc(cc1)S(N)(=O)=O)C(F)(F)F'),
    ('fluoxetine', 'CNCCC(Oc1ccc(cc1)C(F)(F)F)c1ccccc1'),
    ('propranolol', 'CC(C)NCC(O)COc1cccc2ccccc12'),
    ('atenolol', 'CC(C)NCC(O)COc1ccc(CC(N)=O)cc1'),
    ('lidocaine', 'CCN(CC)CC(=O)Nc1c(C)cccc1C'),
    ('diazepam', 'CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc12'),
    ('warfarin', 'CC(=O)CC(c1ccccc1)c1c(O)c2ccccc2oc1=O'),
    ('salbutamol', 'CC(C)(C)NCC(O)c1ccc(O)c(CO)c1'),
    ('imatinib', 'Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(n1)-c1cccnc1'),
]


def conformers(smiles, n, seed, refine):
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    params.pruneRmsThresh = 0.5 if refine else -1.0
    # Pruned embedding returns fewer conformers than asked for: ask for more, keep n.
    cids = list(AllChem.EmbedMultipleConfs(mol, numConfs=3 * n if refine else n, params=params))[:n]
    if refine:
        AllChem.MMFFOptimizeMoleculeConfs(mol, maxIters=1000)
    return mol, cids


def main():
    rdBase.DisableLog('rdApp.warning')
    ref, gen = [], []
    for k, (name, smiles) in enumerate(DRUGS):
        mol, cids = conformers(smiles, N_REF, 42 + k, refine=True)
        mol.SetProp('_Name', name)
        ref += [Chem.MolToMolBlock(mol, confId=c) + '$$$$\n' for c in cids]
        mol, cids = conformers(smiles, N_GEN, 4242 + k, refine=False)
        heavy = Chem.RemoveHs(mol)
        heavy.SetProp('_Name', name)
        gen += [Chem.MolToMolBlock(heavy, confId=c) + '$$$$\n' for c in cids]
    random.Random(1).shuffle(gen)
    for path, blocks in (('ref.sdf', ref), ('gen.sdf', gen)):
        with open(os.path.join(HERE, path), 'w') as f:
            f.write(''.join(blocks))


if __name__ == '__main__':
    main()
